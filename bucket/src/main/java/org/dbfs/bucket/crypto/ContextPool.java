package org.dbfs.bucket.crypto;

import java.io.Closeable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A lock-free pool of native zstd contexts. Not a ThreadLocal: zstd-jni contexts hold native
 * memory that nothing frees but {@code close()}, so contexts of threads that die would leak.
 * The pool holds at most {@code max} idle contexts; extras are closed when returned.
 */
final class ContextPool<T extends Closeable> {
    private final ConcurrentLinkedQueue<T> idle = new ConcurrentLinkedQueue<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    private final Supplier<T> factory;
    private final int max;

    ContextPool(Supplier<T> factory, int max) {
        this.factory = factory;
        this.max = max;
    }

    T take() {
        T t = idle.poll();
        if (t == null) {
            return factory.get();
        }
        idleCount.decrementAndGet();
        return t;
    }

    void give(T t) {
        if (idleCount.incrementAndGet() <= max) {
            idle.offer(t);
        } else {
            idleCount.decrementAndGet();
            try {
                t.close();
            } catch (java.io.IOException e) {
                // zstd contexts do not throw on close; nothing to recover anyway
            }
        }
    }
}
