package org.dbfs.protocol.grpc;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A service that was down, or not yet started, is back within seconds. After a failed connection
 * attempt gRPC fails every call at once (UNAVAILABLE) for a growing backoff, up to two minutes, so a
 * restart, or a client that connected before its server was listening, would turn into minutes of
 * failures. A caller that finds the channel failing retries the connection itself, for a bounded
 * time, before it sends its call: nothing was sent, so nothing can be applied twice. A service that
 * stays away still fails the call after that.
 */
public final class ChannelReconnect {
    private static final long POLL_MILLIS = 200; // between attempts to a server that refuses

    private ChannelReconnect() {}

    /**
     * Returns at once unless {@code channel} is in TRANSIENT_FAILURE; then tries to connect until
     * it is READY or {@code patience} has passed, whichever is first.
     */
    public static void awaitIfFailing(ManagedChannel channel, Duration patience) {
        ConnectivityState state = channel.getState(false);
        if (state != ConnectivityState.TRANSIENT_FAILURE) {
            return;
        }
        long deadline = System.nanoTime() + patience.toNanos();
        while (state != ConnectivityState.READY && state != ConnectivityState.SHUTDOWN && System.nanoTime() < deadline) {
            if (state == ConnectivityState.TRANSIENT_FAILURE) {
                channel.resetConnectBackoff();
            }
            CountDownLatch changed = new CountDownLatch(1);
            channel.notifyWhenStateChanged(state, changed::countDown);
            try {
                changed.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
                state = channel.getState(true);
                if (state == ConnectivityState.TRANSIENT_FAILURE) {
                    Thread.sleep(POLL_MILLIS); // refused again: not yet listening
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
