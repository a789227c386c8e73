package org.dbfs.tests;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP proxy in front of an S3-compatible server that makes it misbehave as real object stores
 * do: a share of PUTs answered with 500 InternalError, half of them before the request reaches the
 * server and half after it was stored (the answer lost on the way back), and a delay before every
 * request. Each connection carries one request ({@code Connection: close} is added upstream; that
 * header is not part of the SigV4 signature), so every request is seen.
 */
final class S3FaultProxy implements AutoCloseable {
    private static final String ERROR_BODY = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<Error><Code>InternalError</Code><Message>injected by the test</Message></Error>\n";
    private static final byte[] INTERNAL_ERROR = ("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
            + "Connection: close\r\nContent-Length: " + ERROR_BODY.length() + "\r\n\r\n" + ERROR_BODY)
            .getBytes(StandardCharsets.US_ASCII);

    private final ServerSocket server;
    private final int upstreamPort;
    private volatile double putFailureRate;
    private volatile long delayMillis;
    private volatile boolean closed;
    private final AtomicLong puts = new AtomicLong();
    private final AtomicLong failedBeforeServer = new AtomicLong();
    private final AtomicLong failedAfterServer = new AtomicLong();
    private final AtomicLong conditionalFailedAfterServer = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();

    private S3FaultProxy(ServerSocket server, int upstreamPort) {
        this.server = server;
        this.upstreamPort = upstreamPort;
    }

    /** @param upstreamEndpoint http://127.0.0.1:PORT of the real server */
    static S3FaultProxy start(String upstreamEndpoint) throws IOException {
        S3FaultProxy proxy = new S3FaultProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()),
                URI.create(upstreamEndpoint).getPort());
        Thread.ofVirtual().name("s3-fault-proxy").start(proxy::acceptLoop);
        return proxy;
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    void failPuts(double rate) {
        putFailureRate = rate;
    }

    void delay(long millis) {
        delayMillis = millis;
    }

    long puts() {
        return puts.get();
    }

    long requests() {
        return requests.get();
    }

    long failedBeforeServer() {
        return failedBeforeServer.get();
    }

    long failedAfterServer() {
        return failedAfterServer.get();
    }

    /** Conditional PUTs (If-Match, If-None-Match: manifest, lease) stored but answered 500. */
    long conditionalFailedAfterServer() {
        return conditionalFailedAfterServer.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Thread.ofVirtual().start(() -> serve(client));
            } catch (IOException e) {
                if (!closed) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            byte[] head = readHead(in);
            if (head == null) {
                return;
            }
            requests.incrementAndGet();
            String text = new String(head, StandardCharsets.ISO_8859_1);
            boolean put = text.startsWith("PUT ");
            double roll = ThreadLocalRandom.current().nextDouble();
            if (put) {
                puts.incrementAndGet();
            }
            long delay = delayMillis;
            if (delay > 0) {
                Thread.sleep(delay);
            }
            if (put && roll < putFailureRate / 2) {
                failedBeforeServer.incrementAndGet();
                client.getOutputStream().write(INTERNAL_ERROR);
                return;
            }
            boolean loseAnswer = put && roll < putFailureRate;
            try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
                OutputStream up = upstream.getOutputStream();
                up.write(withConnectionClose(text).getBytes(StandardCharsets.ISO_8859_1));
                up.flush();
                Thread body = Thread.ofVirtual().start(() -> copy(in, up));
                if (loseAnswer) {
                    upstream.getInputStream().transferTo(OutputStream.nullOutputStream()); // stored; the answer is lost
                    failedAfterServer.incrementAndGet();
                    String lower = text.toLowerCase(java.util.Locale.ROOT);
                    if (lower.contains("\r\nif-match:") || lower.contains("\r\nif-none-match:")) {
                        conditionalFailedAfterServer.incrementAndGet();
                    }
                    client.getOutputStream().write(INTERNAL_ERROR);
                } else {
                    upstream.getInputStream().transferTo(client.getOutputStream());
                }
                body.join(1000);
            }
        } catch (IOException | InterruptedException e) {
            // a client or the server went away: so does this exchange
        }
    }

    private static void copy(InputStream in, OutputStream out) {
        try {
            in.transferTo(out);
        } catch (IOException closed) {
            // the exchange ended
        }
    }

    /** The request line and headers, up to and including the empty line; null at end of stream. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        for (int b; (b = in.read()) >= 0; ) {
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
            if (matched == 4) {
                return head.toByteArray();
            }
        }
        return null;
    }

    private static String withConnectionClose(String head) {
        StringBuilder out = new StringBuilder();
        for (String line : head.split("\r\n")) {
            if (!line.isEmpty() && !line.regionMatches(true, 0, "Connection:", 0, 11)) {
                out.append(line).append("\r\n");
            }
        }
        return out.append("Connection: close\r\n\r\n").toString();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
