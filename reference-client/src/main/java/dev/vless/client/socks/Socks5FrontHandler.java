// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import static java.util.Objects.requireNonNull;

import dev.vless.codec.VlessAddress;
import dev.vless.codec.VlessAddressType;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.socksx.SocksMessage;
import io.netty.handler.codec.socksx.v5.DefaultSocks5InitialResponse;
import io.netty.handler.codec.socksx.v5.DefaultSocks5PasswordAuthResponse;
import io.netty.handler.codec.socksx.v5.Socks5AddressType;
import io.netty.handler.codec.socksx.v5.Socks5AuthMethod;
import io.netty.handler.codec.socksx.v5.Socks5CommandRequest;
import io.netty.handler.codec.socksx.v5.Socks5CommandStatus;
import io.netty.handler.codec.socksx.v5.Socks5CommandType;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequest;
import io.netty.handler.codec.socksx.v5.Socks5InitialRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequest;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthRequestDecoder;
import io.netty.handler.codec.socksx.v5.Socks5PasswordAuthStatus;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SOCKS5 handshake of one application connection: method negotiation (RFC 1928 §3), the optional user name and
 * password (RFC 1929), and the request (§4). CONNECT and UDP ASSOCIATE go to the {@link SocksBackend}, which takes
 * this handler's place; every other command is answered with 0x07, addresses VLESS cannot carry with 0x08, and bytes
 * that are not SOCKS5 close the connection without a reply.
 */
public final class Socks5FrontHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(Socks5FrontHandler.class);

    /** RFC 1929's failure status; Netty's constant is 0xFF, and 0x01 is what clients commonly expect and show. */
    private static final Socks5PasswordAuthStatus LOGIN_FAILED = new Socks5PasswordAuthStatus(0x01, "FAILURE");

    private final SocksBackend backend;
    private final byte[] user;
    private final byte[] password;
    private final Duration handshakeTimeout;
    private ScheduledFuture<?> timeout;
    private boolean refused;

    /**
     * A front for one connection.
     *
     * @param backend          what serves the requests
     * @param user             the user name applications must give, or {@code null} for no authentication
     * @param password         its password, or {@code null}
     * @param handshakeTimeout how long the whole handshake may take before the connection is closed
     */
    public Socks5FrontHandler(SocksBackend backend, String user, String password, Duration handshakeTimeout) {
        this.backend = requireNonNull(backend, "backend");
        if ((user == null) != (password == null)) {
            throw new IllegalArgumentException("user and password: both or neither");
        }
        this.user = user == null ? null : user.getBytes(StandardCharsets.UTF_8);
        this.password = password == null ? null : password.getBytes(StandardCharsets.UTF_8);
        this.handshakeTimeout = requireNonNull(handshakeTimeout, "handshakeTimeout");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        timeout = ctx.executor().schedule(() -> {
            log.debug("{}: SOCKS5 handshake not done within {} ms; closing", ctx.channel(),
                    handshakeTimeout.toMillis());
            ctx.close();
        }, handshakeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf bytes) {
            if (refused || !ctx.channel().isActive()) {
                bytes.release();
            } else {
                // Bytes the application sent right behind the previous message, forwarded by the decoder that was
                // just replaced: they belong to the decoder now in its place, so they go round again from the head.
                ctx.pipeline().fireChannelRead(bytes);
            }
            return;
        }
        try {
            if (msg instanceof SocksMessage m && failed(m.decoderResult())) {
                // Not SOCKS5 (a SOCKS4 or HTTP client, say) or a broken RFC 1929 version: nothing sensible to say.
                log.debug("{}: not a SOCKS5 handshake ({}); closing", ctx.channel(),
                        String.valueOf(m.decoderResult().cause()));
                refuse(ctx);
                ctx.close();
            } else if (msg instanceof Socks5InitialRequest request) {
                negotiate(ctx, request);
            } else if (msg instanceof Socks5PasswordAuthRequest request) {
                authenticate(ctx, request);
            } else if (msg instanceof Socks5CommandRequest request) {
                command(ctx, request);
            } else {
                log.debug("{}: unexpected {}; closing", ctx.channel(), msg.getClass().getSimpleName());
                refuse(ctx);
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /** From now on nothing the application sends matters: the connection is closing. */
    private void refuse(ChannelHandlerContext ctx) {
        refused = true;
        ctx.channel().config().setAutoRead(false);
    }

    private void negotiate(ChannelHandlerContext ctx, Socks5InitialRequest request) {
        Socks5AuthMethod wanted = user != null ? Socks5AuthMethod.PASSWORD : Socks5AuthMethod.NO_AUTH;
        if (!request.authMethods().contains(wanted)) {
            log.debug("{}: client offers {} but the front requires {}; closing", ctx.channel(),
                    request.authMethods(), wanted);
            refuse(ctx);
            ctx.writeAndFlush(new DefaultSocks5InitialResponse(Socks5AuthMethod.UNACCEPTED))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.pipeline().replace(Socks5InitialRequestDecoder.class, "socks5-next",
                user != null ? new Socks5PasswordAuthRequestDecoder() : new Socks5CommandDecoder());
        ctx.writeAndFlush(new DefaultSocks5InitialResponse(wanted));
    }

    private void authenticate(ChannelHandlerContext ctx, Socks5PasswordAuthRequest request) {
        // Compared in constant time, both always, so that timing tells nothing about which one was wrong.
        boolean userOk = MessageDigest.isEqual(user, request.username().getBytes(StandardCharsets.UTF_8));
        boolean passwordOk = MessageDigest.isEqual(password, request.password().getBytes(StandardCharsets.UTF_8));
        if (!(userOk & passwordOk)) {
            log.info("{}: SOCKS5 login failed (wrong user name or password)", ctx.channel());
            refuse(ctx);
            ctx.writeAndFlush(new DefaultSocks5PasswordAuthResponse(LOGIN_FAILED))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.pipeline().replace(Socks5PasswordAuthRequestDecoder.class, "socks5-next", new Socks5CommandDecoder());
        ctx.writeAndFlush(new DefaultSocks5PasswordAuthResponse(Socks5PasswordAuthStatus.SUCCESS));
    }

    private void command(ChannelHandlerContext ctx, Socks5CommandRequest request) {
        Socks5CommandType type = request.type();
        if (type != Socks5CommandType.CONNECT && type != Socks5CommandType.UDP_ASSOCIATE) {
            log.debug("{}: SOCKS5 command {} is not served", ctx.channel(), type);
            refuse(ctx);
            Socks5Replies.fail(ctx.channel(), Socks5CommandStatus.COMMAND_UNSUPPORTED);
            return;
        }
        VlessAddress address;
        try {
            address = toVless(request);
        } catch (IllegalArgumentException e) {
            log.debug("{}: SOCKS5 address {}:{} cannot be carried: {}", ctx.channel(), request.dstAddr(),
                    request.dstPort(), e.getMessage());
            refuse(ctx);
            Socks5Replies.fail(ctx.channel(), Socks5CommandStatus.ADDRESS_UNSUPPORTED);
            return;
        }
        if (type == Socks5CommandType.CONNECT) {
            if (address.port() == 0) {
                log.debug("{}: CONNECT to port 0", ctx.channel());
                refuse(ctx);
                Socks5Replies.fail(ctx.channel(), Socks5CommandStatus.FAILURE); // HDR-8 forbids it in VLESS
                return;
            }
            ctx.pipeline().replace(this, "socks5-connect", backend.connect(address));
        } else {
            ctx.pipeline().replace(this, "socks5-udp", backend.associate(address));
        }
        // Removed now, its leftover bytes (sent behind the request) go to the backend's handler, its new successor.
        ctx.pipeline().remove(Socks5CommandDecoder.class);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Socks5RequestException e) {
            log.debug("{}: bad SOCKS5 request: {}", ctx.channel(), e.getMessage());
            refuse(ctx);
            if (e.reply() != null) {
                Socks5Replies.fail(ctx.channel(), e.reply());
            } else {
                ctx.close();
            }
            return;
        }
        log.debug("{}: {}", ctx.channel(), cause.toString());
        ctx.close();
    }

    private static boolean failed(DecoderResult result) {
        return result != null && result.isFailure();
    }

    /** The request's address as VLESS carries it: SOCKS5 IPv4 and IPv6 keep their family, a domain stays a name. */
    static VlessAddress toVless(Socks5CommandRequest request) {
        Socks5AddressType type = request.dstAddrType();
        if (type == Socks5AddressType.DOMAIN) {
            return new VlessAddress(VlessAddressType.DOMAIN, request.dstAddr(), request.dstPort());
        }
        return VlessAddress.of(request.dstAddr(), request.dstPort());
    }
}
