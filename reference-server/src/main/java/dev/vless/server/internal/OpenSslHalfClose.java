// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.internal.tcnative.SSL;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps TLS 1.3 half-close (TCP-3, D21) on Netty's OpenSSL (BoringSSL) engine. It goes right after the
 * {@link SslHandler} and passes on one {@link SslCloseCompletionEvent} when, and only when, the client's close_notify
 * has arrived, while our own direction stays open.
 *
 * <p>Why it is needed: {@code ReferenceCountedOpenSslEngine.unwrap} calls its private {@code closeAll()} as soon as
 * {@code SSL_read} reports the peer's close_notify ({@code SSL_ERROR_ZERO_RETURN}, or {@code SSL_RECEIVED_SHUTDOWN}
 * set after the read loop). {@code closeAll()} calls {@code closeOutbound()}, which sends our close_notify
 * ({@code SSL_shutdown}) and marks the engine's outbound closed, so every later {@code wrap} answers {@code CLOSED}
 * and the {@code SslHandler} fails the pending writes ("SSLEngine closed already"): the rest of the response is lost.
 * BoringSSL itself keeps writing after a received close_notify; only Netty's bookkeeping ends the direction. Both
 * calls are skipped when the engine's private {@code receivedShutdown} flag is already set, so this sets it when the
 * connection starts and watches {@code SSL_get_shutdown} after each read instead, to signal the end of the client's
 * direction. It leaves the engine's inbound side open: once {@code isInboundDone()}, that engine reports a closing
 * handshake ({@code NEED_UNWRAP}) and the {@code SslHandler} stops wrapping after one record. BoringSSL ignores input
 * after the close_notify. Under TLS 1.2 a close_notify ends both directions (RFC 5246 7.2.1, as the JDK engine does),
 * so there it also closes our side.
 *
 * <p>It also drops the {@code SslCloseCompletionEvent}s the {@code SslHandler} fires on its own: once our
 * close_notify has gone out, that engine reports every later unwrap as {@code CLOSED}, which the handler takes for the
 * client's end, although the client may still be sending (the target ended first).
 */
public final class OpenSslHalfClose extends ChannelInboundHandlerAdapter {

    /** The handler's name in the pipeline. */
    public static final String NAME = "tls-half-close";

    private static final Logger log = LoggerFactory.getLogger(OpenSslHalfClose.class);

    /** The engine's "the peer's close_notify was handled" flag, or {@code null} when this Netty has none. */
    private static final VarHandle RECEIVED_SHUTDOWN = receivedShutdownFlag();

    private final SslHandler tls;
    private final ReferenceCountedOpenSslEngine engine;
    private boolean ended;

    private OpenSslHalfClose(SslHandler tls, ReferenceCountedOpenSslEngine engine) {
        this.tls = tls;
        this.engine = engine;
    }

    /** Whether half-close can be kept with the OpenSSL engine here: the native library loads and Netty's engine fits. */
    public static boolean supported() {
        return RECEIVED_SHUTDOWN != null && OpenSsl.isAvailable();
    }

    /**
     * A handler for {@code tls}, to go right after it, or {@code null} when {@code tls} does not run Netty's OpenSSL
     * engine (the JDK's keeps half-close by itself). Call before the connection reads its first byte.
     */
    public static OpenSslHalfClose forHandler(SslHandler tls) {
        if (RECEIVED_SHUTDOWN == null || !(tls.engine() instanceof ReferenceCountedOpenSslEngine engine)) {
            return null;
        }
        synchronized (engine) { // the engine's own lock guards the flag
            RECEIVED_SHUTDOWN.set(engine, true);
        }
        return new OpenSslHalfClose(tls, engine);
    }

    private static VarHandle receivedShutdownFlag() {
        try {
            return MethodHandles.privateLookupIn(ReferenceCountedOpenSslEngine.class, MethodHandles.lookup())
                    .findVarHandle(ReferenceCountedOpenSslEngine.class, "receivedShutdown", boolean.class);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.debug("Netty's OpenSSL engine has no receivedShutdown flag to set ({}); TLS half-close needs the JDK"
                    + " engine", e.toString());
            return null;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // After the SslHandler passed on what it decrypted in this read: the end follows the last byte.
        checkEnd(ctx);
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
            return; // the SslHandler's guess; checkEnd signals the real one
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            checkEnd(ctx); // a close_notify decoded in the decoder's last pass comes before the FIN
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void checkEnd(ChannelHandlerContext ctx) {
        if (ended) {
            return;
        }
        boolean closeNotify;
        synchronized (engine) {
            long ssl = engine.sslPointer(); // 0 once the engine has been freed
            closeNotify = ssl != 0 && (SSL.getShutdown(ssl) & SSL.SSL_RECEIVED_SHUTDOWN) != 0;
        }
        if (!closeNotify) {
            return;
        }
        ended = true;
        if (!"TLSv1.3".equals(engine.getSession().getProtocol())) {
            tls.closeOutbound(); // TLS 1.2: answer with our close_notify, and the connection is over
        }
        ctx.fireUserEventTriggered(SslCloseCompletionEvent.SUCCESS);
    }
}
