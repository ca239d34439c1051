// SPDX-License-Identifier: Apache-2.0
package dev.vless.server.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

/**
 * Moves a connection to another event loop. A v1 UDP connection and its NAT context exchange every datagram; on two
 * loops each one crosses threads twice (a queued task and, when the other loop sleeps, a wake-up system call), which
 * cost the relay more than the datagram's own work. Netty supports re-registering a channel: reads stop while it is
 * off any loop (the kernel keeps what arrives) and resume on the new one.
 */
public final class ChannelMove {

    private ChannelMove() {
    }

    /**
     * Runs {@code then} on {@code target} with {@code channel} registered there: at once when it already is, else
     * after moving it. Call on the channel's loop, with auto-read off (nothing should be read mid-move). A channel
     * the target cannot take stays where it was; one that closes meanwhile is closed and {@code then} never runs.
     */
    public static void moveTo(Channel channel, EventLoop target, Runnable then) {
        // Called on the channel's loop: if that thread is the target's too (an embedded channel in a benchmark or a
        // test), there is no hop to save.
        if (channel.eventLoop() == target || target.inEventLoop()) {
            then.run();
            return;
        }
        EventLoop home = channel.eventLoop();
        channel.deregister().addListener(d -> {
            if (!d.isSuccess() || !channel.isOpen()) {
                channel.close();
                return;
            }
            target.register(channel).addListener(r -> {
                if (r.isSuccess()) {
                    proceed(channel, then);
                } else {
                    // A loop that cannot take this kind of channel: back home, and hop threads per datagram.
                    home.register(channel).addListener(back -> {
                        if (back.isSuccess()) {
                            proceed(channel, then);
                        } else {
                            channel.close();
                        }
                    });
                }
            });
        });
    }

    private static void proceed(Channel channel, Runnable then) {
        if (channel.isActive()) {
            then.run();
        } else {
            channel.close();
        }
    }
}
