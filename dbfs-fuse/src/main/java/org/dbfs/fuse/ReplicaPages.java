package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import java.util.concurrent.atomic.LongAdder;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relation pages for a read-only mount: GetPage@B from the page server. A page the page server
 * has no version of and no WAL for reads as zeros, as a block a relation was extended by does.
 */
final class ReplicaPages {
    private static final Logger log = LoggerFactory.getLogger(ReplicaPages.class);
    static final int PAGE = 8192;

    private final PageServerClient client;
    private final ReplicaReadPoint readPoint;
    private final int maxWaitMs;
    private final LongAdder reads = new LongAdder();
    private final Recorder latency = new Recorder(3);

    /** @param maxWaitMs how long a read may wait for the WAL service to index up to B */
    ReplicaPages(PageServerClient client, ReplicaReadPoint readPoint, int maxWaitMs) {
        this.client = client;
        this.readPoint = readPoint;
        this.maxWaitMs = maxWaitMs;
    }

    /** The page as of B into {@code dst} at {@code off}; a StatusRuntimeException, logged, if it cannot be read. */
    void read(RelTag rel, long block, byte[] dst, int off) {
        long b = readPoint.lsn();
        long started = System.nanoTime();
        GetPageAtLsnReply reply;
        try {
            reply = client.getPageAtLsn(GetPageAtLsnRequest.newBuilder()
                    .setPage(PageRef.newBuilder().setRel(RelTagMessages.toMessage(rel)).setBlockNum((int) block))
                    .setLsn(b).setMaxWaitMs(maxWaitMs).build());
        } catch (StatusRuntimeException e) {
            log.error("GetPage@B of {} block {} at B = {} failed, returning EIO to the standby: {} {}", rel, block,
                    Lsn.format(b), e.getStatus().getCode(), e.getStatus().getDescription());
            throw e;
        }
        reads.increment();
        latency.recordValue((System.nanoTime() - started) / 1000);
        if (reply.getAbsent()) {
            java.util.Arrays.fill(dst, off, off + PAGE, (byte) 0);
        } else {
            reply.getData().copyTo(dst, off);
        }
    }

    long reads() {
        return reads.sum();
    }

    /** GetPage@B latencies in microseconds since the last call (the mount's periodic report). */
    Histogram latencySinceLastCall() {
        return latency.getIntervalHistogram();
    }
}
