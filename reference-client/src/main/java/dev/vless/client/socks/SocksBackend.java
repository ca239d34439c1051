// SPDX-License-Identifier: Apache-2.0
package dev.vless.client.socks;

import dev.vless.codec.VlessAddress;
import io.netty.channel.ChannelHandler;

/**
 * What serves a SOCKS5 request once the front has read it. Each method returns the handler that takes the front's
 * place in the application's pipeline; it writes the SOCKS5 reply itself ({@link Socks5Replies}) and owns the channel
 * from then on. Bytes the application sent right behind the request reach that handler.
 */
public interface SocksBackend {

    /** Serves CONNECT to {@code target}: a VLESS TCP tunnel. */
    ChannelHandler connect(VlessAddress target);

    /**
     * Serves UDP ASSOCIATE. {@code clientHint} is the request's DST.ADDR and DST.PORT: where the application says it
     * will send from, 0.0.0.0 or port 0 when it does not know.
     */
    ChannelHandler associate(VlessAddress clientHint);
}
