package org.dbfs.pageserver.status;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.dbfs.pageserver.segment.ReadCounts;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.ReaderStatus;
import org.dbfs.protocol.pageserver.v1.StatusSample;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The status page's last hour: a sample every interval, kept in memory (a restart starts it afresh). */
final class StatusSamples implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StatusSamples.class);
    private static final Duration KEPT = Duration.ofHours(1);

    private final Supplier<ClusterStatus> status;
    private final ReadCounts reads;
    private final CommitLatencyWindow commits;
    private final Duration interval;
    private final int capacity;
    private final ArrayDeque<StatusSample> samples = new ArrayDeque<>(); // guarded by this
    private long[] lastReads;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "status-history");
        t.setDaemon(true);
        return t;
    });

    StatusSamples(Supplier<ClusterStatus> status, ReadCounts reads, CommitLatencyWindow commits, Duration interval) {
        this.status = status;
        this.reads = reads;
        this.commits = commits;
        this.interval = interval;
        this.capacity = (int) Math.max(2, KEPT.toMillis() / Math.max(1, interval.toMillis()));
        this.lastReads = readsNow();
        commits.takePercentilesMicros(); // the first interval starts now
        timer.scheduleAtFixedRate(this::sampleQuietly, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    Duration interval() {
        return interval;
    }

    synchronized java.util.List<StatusSample> samples() {
        return java.util.List.copyOf(samples);
    }

    private void sampleQuietly() {
        try {
            StatusSample s = sample();
            synchronized (this) {
                samples.addLast(s);
                while (samples.size() > capacity) {
                    samples.removeFirst();
                }
            }
        } catch (RuntimeException e) {
            log.warn("status page: could not take a sample: {}", e.toString());
        }
    }

    private StatusSample sample() {
        ClusterStatus s = status.get();
        StatusSample.Builder b = StatusSample.newBuilder().setAtMs(System.currentTimeMillis())
                .setBucketBytes(s.getStore().getSegmentBytes()).setUnpackedJournalBytes(s.getStore().getUnpackedJournalBytes());
        for (ReaderStatus r : s.getReadersList()) {
            b.putReaderLagBytes(r.getId(), r.getLagBytes());
        }
        double[] p = commits.takePercentilesMicros();
        if (p != null) {
            b.setHasCommits(true).setCommitP50Us(p[0]).setCommitP99Us(p[1]);
        }
        long[] now = readsNow();
        long hits = 0;
        long all = 0;
        for (int i = 0; i < now.length; i++) {
            long d = now[i] - lastReads[i];
            all += d;
            if (i < now.length - 1) {
                hits += d;
            }
        }
        lastReads = now;
        if (all > 0) {
            b.setHasReads(true).setCacheHitRatio((double) hits / all);
        }
        return b.build();
    }

    /** The read counts, the bucket's last: everything before it is a hit. */
    private long[] readsNow() {
        return new long[] {reads.journal(), reads.memory(), reads.localSegment(), reads.bucket()};
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
