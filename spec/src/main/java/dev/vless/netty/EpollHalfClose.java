// SPDX-License-Identifier: Apache-2.0
package dev.vless.netty;

import io.netty.channel.Channel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;

/**
 * Keeps a half-closed epoll channel in its epoll set, so it can still wait for writability.
 *
 * <p>Netty 4.2.18's epoll transport removes a channel's descriptor from the epoll set when the channel's interest set
 * becomes empty, but goes on treating the descriptor as added: the next interest it sets is an {@code EPOLL_CTL_MOD}
 * that fails with ENOENT. A half-closed TCP channel reaches the empty set as soon as the peer's end of stream has been
 * read (no more EPOLLIN, EPOLLRDHUP cleared). When the channel then writes more than the socket buffer holds, waiting
 * for EPOLLOUT fails, Netty shuts the channel's output, and the rest of the stream is lost: a client that sends its
 * request, ends its direction and waits for a long answer got a cut-off answer. Re-arming EPOLLIN fails the same way.
 *
 * <p>The fix keeps EPOLLERR in the interest set. The kernel reports EPOLLERR (and EPOLLHUP) whatever the set says, so
 * it changes no event; it only keeps the set from ever being empty. One consequence: a channel with both directions
 * ended stays in the set and wakes its loop with EPOLLHUP until it is closed, so callers close such a channel at once
 * (the relays of the server and the client do). {@code EpollHalfCloseTest} shows the fault without the fix and the
 * stream whole with it.
 */
public final class EpollHalfClose {

    private static final String EPOLL_PACKAGE = "io.netty.channel.epoll.";

    private EpollHalfClose() {
    }

    /**
     * Applies the fix to {@code channel} if it is an epoll channel; other transports are left alone. Call it on the
     * channel's event loop once the channel is registered (from {@code initChannel} or {@code channelRegistered}).
     */
    public static void apply(Channel channel) {
        if (channel.getClass().getName().startsWith(EPOLL_PACKAGE)) {
            Holder.keepErr(channel);
        }
    }

    /** Whether the fix can be applied with this Netty (it reaches into a protected method). */
    public static boolean available() {
        return Holder.SET_FLAG != null;
    }

    /** Loaded with the first epoll channel only: reading Native's constants needs the native library. */
    private static final class Holder {
        private static final Class<?> EPOLL_CHANNEL;
        private static final MethodHandle SET_FLAG;
        private static final int EPOLLERR;

        static {
            Class<?> type = null;
            MethodHandle setFlag = null;
            int err = 0;
            try {
                ClassLoader loader = Channel.class.getClassLoader();
                type = Class.forName(EPOLL_PACKAGE + "AbstractEpollChannel", false, loader);
                Method m = type.getDeclaredMethod("setFlag", int.class);
                m.setAccessible(true);
                setFlag = MethodHandles.lookup().unreflect(m);
                err = Class.forName(EPOLL_PACKAGE + "Native", true, loader).getField("EPOLLERR").getInt(null);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                setFlag = null; // no epoll classes, or a Netty without the method: nothing to fix, or nothing we can
            }
            EPOLL_CHANNEL = type;
            SET_FLAG = setFlag;
            EPOLLERR = err;
        }

        static void keepErr(Channel channel) {
            if (SET_FLAG == null || !EPOLL_CHANNEL.isInstance(channel)) {
                return;
            }
            try {
                SET_FLAG.invoke(channel, EPOLLERR);
            } catch (IOException | UncheckedIOException e) {
                // epoll refused the descriptor (closed already, say): the channel could not wait for events anyway.
                channel.close();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException("cannot keep " + channel + " in its epoll set", e);
            }
        }
    }
}
