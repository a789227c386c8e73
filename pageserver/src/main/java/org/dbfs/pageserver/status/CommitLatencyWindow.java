package org.dbfs.pageserver.status;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Durable waits between two samples of the status page, for its p50/p99 plot: Prometheus's
 * histogram buckets answer "how many under 1 ms", not a percentile of the last ten seconds.
 */
final class CommitLatencyWindow {
    private final Recorder recorder = new Recorder(3);
    private Histogram reuse; // guarded by this

    void record(long nanos) {
        recorder.recordValue(Math.max(0, nanos));
    }

    /** p50 and p99 in microseconds since the last call, or null if nothing waited. */
    synchronized double[] takePercentilesMicros() {
        reuse = recorder.getIntervalHistogram(reuse);
        if (reuse.getTotalCount() == 0) {
            return null;
        }
        return new double[] {reuse.getValueAtPercentile(50) / 1000.0, reuse.getValueAtPercentile(99) / 1000.0};
    }
}
