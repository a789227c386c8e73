package org.dbfs.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests a service answers, by one label (the call's method, or a FUSE opcode): a latency
 * histogram {@code NAME_duration_seconds}, whose {@code _count} gives the rate, and
 * {@code NAME_errors_total} for the ones that failed.
 */
public final class RequestMetrics {
    /** One request's work. */
    public interface Call<T> {
        T call() throws Exception;
    }

    private final LatencyHistogram durations;
    private final Counter errors;
    private final ConcurrentHashMap<String, CounterDataPoint> errorPoints = new ConcurrentHashMap<>();

    private RequestMetrics(LatencyHistogram durations, Counter errors) {
        this.durations = durations;
        this.errors = errors;
    }

    /** @param name e.g. {@code dbfs_walservice_request}; {@code label} e.g. {@code method} */
    public static RequestMetrics register(PrometheusRegistry registry, String name, String help, String label) {
        return new RequestMetrics(LatencyHistogram.register(registry, name + "_duration", help, label),
                Counter.builder().name(name + "_errors").labelNames(label).help(help + ": the ones that failed")
                        .register(registry));
    }

    public void record(String labelValue, long nanos, boolean failed) {
        durations.observe(labelValue, nanos);
        if (failed) {
            errorPoints.computeIfAbsent(labelValue, errors::labelValues).inc();
        }
    }

    /** Runs {@code call}, recording its time and whether it threw. */
    public <T> T time(String labelValue, Call<T> call) throws Exception {
        long start = System.nanoTime();
        boolean failed = true;
        try {
            T result = call.call();
            failed = false;
            return result;
        } finally {
            record(labelValue, System.nanoTime() - start, failed);
        }
    }
}
