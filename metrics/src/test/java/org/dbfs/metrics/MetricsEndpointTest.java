package org.dbfs.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class MetricsEndpointTest {
    @Test
    void servesRequestCountsLatencyBucketsAndFailuresInTheTextFormat() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        RequestMetrics requests = RequestMetrics.register(registry, "dbfs_test_request", "test calls", "method");
        requests.record("GetPages", 30_000, false); // 30 µs: above the first bucket (25 µs), in the second
        requests.record("GetPages", 2_000_000, false);
        assertThrows(IllegalStateException.class, () -> requests.time("Sync", () -> {
            throw new IllegalStateException("refused");
        }));
        assertEquals("ok", requests.time("Sync", () -> "ok"));
        try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, registry)) {
            String text = get("http://127.0.0.1:" + endpoint.port() + "/metrics");
            assertTrue(text.contains("dbfs_test_request_duration_seconds_count{method=\"GetPages\"} 2\n"), text);
            assertTrue(text.contains("dbfs_test_request_duration_seconds_bucket{method=\"GetPages\",le=\"2.5E-5\"} 0\n"), text);
            assertTrue(text.contains("dbfs_test_request_duration_seconds_bucket{method=\"GetPages\",le=\"5.0E-5\"} 1\n"), text);
            assertTrue(text.contains("dbfs_test_request_duration_seconds_count{method=\"Sync\"} 2\n"), text);
            assertTrue(text.contains("dbfs_test_request_errors_total{method=\"Sync\"} 1.0\n"), text);
            assertTrue(text.contains("jvm_memory_used_bytes"), "the JVM's own metrics are served beside: " + text);
        }
    }

    @Test
    void aPortInUseIsNamedWithTheOption() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (MetricsEndpoint first = MetricsEndpoint.start("127.0.0.1", 0, registry)) {
            IOException e = assertThrows(IOException.class, () -> MetricsEndpoint.start("127.0.0.1", first.port(),
                    new PrometheusRegistry()));
            assertTrue(e.getMessage().contains("--metrics-listen") && e.getMessage().contains(":" + first.port()), e.getMessage());
        }
    }

    private static String get(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }
}
