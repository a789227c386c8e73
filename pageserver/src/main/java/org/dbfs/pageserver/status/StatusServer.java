package org.dbfs.pageserver.status;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;
import org.dbfs.metrics.MetricsEndpoint;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.StatusHistory;

/**
 * {@code --http-listen}: the status page. {@code /} is one HTML file with its script inline (no
 * build step, nothing fetched from elsewhere); it reads {@code /api/status} (the ClusterStatus
 * message as JSON) and {@code /api/history} (the last hour's samples), and {@code /metrics} is
 * the same registry {@code --metrics-listen} serves, so the page and Prometheus see one set of numbers.
 */
public final class StatusServer implements AutoCloseable {
    private static final JsonFormat.Printer JSON = JsonFormat.printer().includingDefaultValueFields();

    private final MetricsEndpoint endpoint;
    private final StatusSamples history;

    private StatusServer(MetricsEndpoint endpoint, StatusSamples history) {
        this.endpoint = endpoint;
        this.history = history;
    }

    /** @param sampleEvery how often the plots get a point */
    public static StatusServer start(String host, int port, PageServerMetrics metrics, PageStore store,
                                     Supplier<ClusterStatus> status, Duration sampleEvery) throws IOException {
        StatusSamples history = new StatusSamples(status, store.readCounts(), metrics.commitWindow(), sampleEvery);
        byte[] page = page();
        HttpHandler pages = exchange -> {
            try (exchange) {
                switch (exchange.getRequestURI().getPath()) {
                    case "/", "/index.html" -> reply(exchange, 200, "text/html; charset=utf-8", page);
                    case "/api/status" -> json(exchange, status.get());
                    case "/api/history" -> json(exchange, StatusHistory.newBuilder()
                            .setIntervalMs(history.interval().toMillis()).addAllSamples(history.samples()));
                    default -> reply(exchange, 404, "text/plain; charset=utf-8",
                            "not found: the status page is /, its data /api/status and /api/history, metrics /metrics\n"
                                    .getBytes(StandardCharsets.UTF_8));
                }
            } catch (RuntimeException e) {
                reply(exchange, 500, "text/plain; charset=utf-8", ("status failed: " + e + "\n").getBytes(StandardCharsets.UTF_8));
            }
        };
        try {
            return new StatusServer(MetricsEndpoint.start(host, port, metrics.registry(), pages, "--http-listen"), history);
        } catch (IOException e) {
            history.close();
            throw e;
        }
    }

    public int port() {
        return endpoint.port();
    }

    private static byte[] page() throws IOException {
        try (InputStream in = StatusServer.class.getResourceAsStream("status.html")) {
            if (in == null) {
                throw new IOException("status.html is missing from the page server's jar (a broken build)");
            }
            return in.readAllBytes();
        }
    }

    private static void json(HttpExchange exchange, MessageOrBuilder message) throws IOException {
        String text;
        try {
            text = JSON.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IOException(e);
        }
        reply(exchange, 200, "application/json", text.getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange exchange, int code, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(code, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        endpoint.close();
        history.close();
    }
}
