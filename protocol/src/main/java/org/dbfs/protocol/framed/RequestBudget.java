package org.dbfs.protocol.framed;

import java.util.concurrent.Semaphore;

/**
 * How many request bytes a framed server works on at once. A 1 MB write from the mount is copied
 * several times on its way into the journal (request, blocks, record, sealed frame), and the mount
 * sends one per FUSE thread: in a small heap, a burst of them (PostgreSQL's parallel sorts writing
 * temporary files) ran the heap out. Requests beyond the budget wait their turn; a request larger
 * than the whole budget runs alone.
 */
public final class RequestBudget {
    private final Semaphore kib;
    private final int total;

    private RequestBudget(int totalKib) {
        this.total = totalKib;
        this.kib = new Semaphore(totalKib, true);
    }

    /** A thirty-second of the heap, at least 4 MiB. */
    public static RequestBudget ofHeap() {
        long bytes = Math.max(4L << 20, Runtime.getRuntime().maxMemory() / 32);
        return new RequestBudget((int) Math.min(Integer.MAX_VALUE, bytes >> 10));
    }

    /** Waits until {@code bytes} fit; returns what to pass to {@link #release}. */
    public int acquireFor(int bytes) throws InterruptedException {
        int want = Math.min(total, Math.max(1, (bytes + 1023) >> 10));
        kib.acquire(want);
        return want;
    }

    public void release(int acquired) {
        kib.release(acquired);
    }
}
