package org.dbfs.metrics;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A latency histogram in seconds with one label (the call, or the FUSE opcode). Its buckets start
 * at 25 µs: a cached page read over TCP takes tens of microseconds, which the client library's
 * default buckets (from 5 ms) would put all in one. Rates come from its {@code _count}.
 */
public final class LatencyHistogram {
    /** Upper bounds in seconds, from a cached read to a stalled bucket. */
    static final double[] BUCKETS = {
        25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 10
    };

    private final Histogram histogram;
    // labelValues() looks its label up on every call; a request path does that once per label.
    private final ConcurrentHashMap<String, DistributionDataPoint> points = new ConcurrentHashMap<>();

    private LatencyHistogram(Histogram histogram) {
        this.histogram = histogram;
    }

    /** Registers {@code name} (without the {@code _seconds} unit suffix, which is added) in {@code registry}. */
    public static LatencyHistogram register(PrometheusRegistry registry, String name, String help, String label) {
        Histogram h = Histogram.builder().name(name).unit(Unit.SECONDS).help(help).labelNames(label)
                .classicOnly().classicUpperBounds(BUCKETS).register(registry);
        return new LatencyHistogram(h);
    }

    /** Registers {@code name} without a label: record with {@link #observe(long)}. */
    public static LatencyHistogram register(PrometheusRegistry registry, String name, String help) {
        Histogram h = Histogram.builder().name(name).unit(Unit.SECONDS).help(help)
                .classicOnly().classicUpperBounds(BUCKETS).register(registry);
        return new LatencyHistogram(h);
    }

    /** Records one event (of a histogram without a label) that took {@code nanos}. */
    public void observe(long nanos) {
        histogram.observe(nanos / 1e9);
    }

    /** Records one call of {@code labelValue} that took {@code nanos}. */
    public void observe(String labelValue, long nanos) {
        points.computeIfAbsent(labelValue, histogram::labelValues).observe(nanos / 1e9);
    }
}
