package org.dbfs.pageserver.store;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --max-journal}: holds a write back while more than that many bytes wait to be packed (the
 * bucket is unreachable or slower than the writes). The journal stops growing, nothing is lost, and
 * writes go on as soon as the packer has made room. One warning when writes start waiting, one
 * line when they go on.
 */
final class JournalRoom {
    private static final Logger log = LoggerFactory.getLogger(JournalRoom.class);

    private final AtomicLong unpackedBytes;
    private final long maxBytes;
    private final String bucket;
    private boolean full; // guarded by this

    JournalRoom(AtomicLong unpackedBytes, long maxBytes, String bucket) {
        this.unpackedBytes = unpackedBytes;
        this.maxBytes = maxBytes;
        this.bucket = bucket;
    }

    /**
     * Returns once there is room, or once {@code giveUp} says the write will fail anyway (the store
     * is fenced or stopping).
     *
     * @param wakePacker asks the packer to make room
     */
    void await(Runnable wakePacker, BooleanSupplier giveUp) throws IOException {
        if (unpackedBytes.get() <= maxBytes) {
            return;
        }
        wakePacker.run();
        synchronized (this) {
            if (!full) {
                full = true;
                log.warn("{} bytes of acknowledged writes wait to be packed into {} (--max-journal {}): new writes wait"
                        + " until the bucket takes them", unpackedBytes.get(), bucket, maxBytes);
            }
            while (unpackedBytes.get() > maxBytes && !giveUp.getAsBoolean()) {
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the journal to be packed; the write was not acknowledged");
                }
            }
        }
    }

    /** The packer moved versions into the bucket (or the store is stopping): held writes look again. */
    synchronized void packed() {
        if (full && unpackedBytes.get() <= maxBytes) {
            full = false;
            log.info("the bucket caught up: {} bytes wait to be packed; writes go on", unpackedBytes.get());
        }
        notifyAll();
    }
}
