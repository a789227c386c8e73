package org.dbfs.bucket.objectstore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Mutual exclusion per key for a local bucket, across threads and across processes.
 *
 * <p>Keys hash onto a fixed set of stripes; each stripe is an in-JVM lock plus an OS advisory lock on
 * a file in {@code .dbfs-locks/}. Both are needed: {@link FileChannel#lock()} excludes other
 * processes, but within one JVM a second lock on the same file throws instead of waiting, so
 * threads queue on the in-JVM lock first. The in-JVM locks are shared by every store instance
 * opened on the same directory, for the same reason.
 */
final class LocalKeyLocks {
    static final String LOCK_DIR = ObjectKeys.RESERVED_PREFIX + "locks";
    private static final int STRIPES = 64;
    private static final ConcurrentHashMap<Path, ReentrantLock[]> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path lockDir;
    private final ReentrantLock[] jvmLocks;

    LocalKeyLocks(Path realRoot) {
        this.lockDir = realRoot.resolve(LOCK_DIR);
        this.jvmLocks = JVM_LOCKS.computeIfAbsent(realRoot, r -> {
            ReentrantLock[] locks = new ReentrantLock[STRIPES];
            for (int i = 0; i < STRIPES; i++) {
                locks[i] = new ReentrantLock();
            }
            return locks;
        });
    }

    Path lockDir() {
        return lockDir;
    }

    /** Blocks until this thread holds the key's stripe in this JVM and on disk. */
    Held lock(String key) throws IOException {
        // String.hashCode is specified, so every process maps a key to the same stripe.
        int stripe = Math.floorMod(key.hashCode(), STRIPES);
        ReentrantLock jvmLock = jvmLocks[stripe];
        jvmLock.lock();
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockDir.resolve("stripe-%02d.lock".formatted(stripe)),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            channel.lock();
            return new Held(jvmLock, channel);
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            jvmLock.unlock();
            throw e;
        }
    }

    /** A held stripe; closing releases the file lock, then the in-JVM lock. */
    static final class Held implements AutoCloseable {
        private final ReentrantLock jvmLock;
        private final FileChannel channel;

        private Held(ReentrantLock jvmLock, FileChannel channel) {
            this.jvmLock = jvmLock;
            this.channel = channel;
        }

        @Override
        public void close() throws IOException {
            try {
                channel.close();
            } finally {
                jvmLock.unlock();
            }
        }
    }
}
