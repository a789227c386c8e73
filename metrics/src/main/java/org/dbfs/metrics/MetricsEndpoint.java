package org.dbfs.metrics;

import com.sun.net.httpserver.HttpHandler;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;

/**
 * {@code --metrics-listen HOST:PORT}: serves a service's registry at {@code /metrics} in
 * Prometheus's text format, with the JVM's own metrics (heap, GC, threads) beside DbFS's.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HTTPServer server;

    private MetricsEndpoint(HTTPServer server) {
        this.server = server;
    }

    /**
     * @param host where to listen (an address or name; 0.0.0.0 for every interface)
     * @param port 0 for any free port ({@link #port()} tells which)
     */
    public static MetricsEndpoint start(String host, int port, PrometheusRegistry registry) throws IOException {
        return start(host, port, registry, null, "--metrics-listen");
    }

    /**
     * The same, with {@code pages} answering every other path (the page server's status page).
     *
     * @param option the command-line option that asked for it, for messages
     */
    public static MetricsEndpoint start(String host, int port, PrometheusRegistry registry, HttpHandler pages, String option)
            throws IOException {
        JvmMetrics.builder().register(registry);
        try {
            HTTPServer.Builder b = HTTPServer.builder().hostname(host).port(port).registry(registry);
            if (pages != null) {
                b.defaultHandler(pages);
            }
            return new MetricsEndpoint(b.buildAndStart());
        } catch (IOException e) {
            throw new IOException("cannot listen on " + host + ":" + port + " (" + option + "): " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.close();
    }
}
