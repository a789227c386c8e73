package org.dbfs.bucket.objectstore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server for tests: S3Proxy with its filesystem-nio2 backend, run as a child
 * process from the jar Maven copies to {@code target/s3proxy/s3proxy.jar} (kept off the test
 * classpath, which its bundled dependencies would clash with).
 */
public final class S3ProxyServer implements AutoCloseable {
    public static final String ACCESS_KEY = "dbfs-test-access";
    public static final String SECRET_KEY = "dbfs-test-secret-0123456789";
    static final Region REGION = Region.US_EAST_1;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private volatile Process process;
    private List<String> command;
    private final String endpoint;
    private final String bucket;
    private final Path log;

    private S3ProxyServer(Process process, String endpoint, String bucket, Path log) {
        this.process = process;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.log = log;
    }

    /** Starts S3Proxy storing under {@code workDir}, waits until it serves requests, creates a bucket. */
    public static S3ProxyServer start(Path workDir) throws IOException, InterruptedException {
        Path jar = Path.of(System.getProperty("s3proxy.jar", "target/s3proxy/s3proxy.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("S3Proxy jar missing: path=" + jar.toAbsolutePath()
                    + "; run the build through Maven (generate-test-resources copies it)");
        }
        Path data = Files.createDirectories(workDir.resolve("s3proxy-data"));
        int port = freePort();
        String endpoint = "http://127.0.0.1:" + port;
        Path properties = workDir.resolve("s3proxy.properties");
        Files.writeString(properties, String.join("\n",
                "s3proxy.endpoint=" + endpoint,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem-nio2",
                "jclouds.identity=" + ACCESS_KEY,
                "jclouds.credential=" + SECRET_KEY,
                "jclouds.filesystem.basedir=" + data,
                ""), StandardCharsets.UTF_8);
        Path log = workDir.resolve("s3proxy.log");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-jar", jar.toAbsolutePath().toString(), "--properties",
                properties.toString());
        S3ProxyServer server = new S3ProxyServer(launch(command, log), endpoint, "dbfs-test-bucket", log);
        server.command = command;
        try {
            server.createBucketWhenUp();
        } catch (InterruptedException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private static Process launch(List<String> command, Path log) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
    }

    /** Stops the server (an outage): the bucket's data stays on disk. */
    public void stop() throws InterruptedException {
        close();
    }

    /** Starts it again on the same endpoint and data, and waits until it answers. */
    public void restart() throws IOException, InterruptedException {
        process = launch(command, log);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        try (S3Client client = client()) {
            while (true) {
                try {
                    client.headBucket(b -> b.bucket(bucket));
                    return;
                } catch (SdkClientException notListeningYet) {
                    if (System.nanoTime() > deadline || !process.isAlive()) {
                        throw new IllegalStateException("S3Proxy did not come back at endpoint=" + endpoint + "; log:\n"
                                + logText(), notListeningYet);
                    }
                    Thread.sleep(100); // polling a starting server, as at the first start
                }
            }
        }
    }

    private void createBucketWhenUp() throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        try (S3Client client = client()) {
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("S3Proxy exited with code " + process.exitValue() + "; log:\n" + logText());
                }
                try {
                    client.createBucket(b -> b.bucket(bucket));
                    return;
                } catch (SdkClientException notListeningYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("S3Proxy did not answer within " + START_TIMEOUT
                                + " at endpoint=" + endpoint + "; log:\n" + logText(), notListeningYet);
                    }
                    // Polling a starting server: the only wait, and it ends as soon as the server answers.
                    Thread.sleep(100);
                }
            }
        }
    }

    /** A plain SDK client for the server, for setting up state the store itself must not create. */
    S3Client client() {
        return S3Client.builder()
                .endpointOverride(URI.create(endpoint))
                .forcePathStyle(true)
                .region(REGION)
                .credentialsProvider(credentials())
                .build();
    }

    public String endpoint() {
        return endpoint;
    }

    public String bucket() {
        return bucket;
    }

    String accessKey() {
        return ACCESS_KEY;
    }

    String secretKey() {
        return SECRET_KEY;
    }

    AwsCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY));
    }

    /** A store on this server's bucket under {@code prefix} (may be empty), with explicit credentials. */
    S3ObjectStore openStore(String prefix) {
        return new S3ObjectStore("s3://" + bucket + "/" + prefix, endpoint, credentials(), REGION);
    }

    String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no log)";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
