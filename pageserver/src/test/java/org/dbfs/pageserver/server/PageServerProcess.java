package org.dbfs.pageserver.server;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.dbfs.pageserver.cli.PageServerCli;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;

/**
 * A page server in a child JVM, started through its real command line, so tests can kill -9 it
 * and watch its exit code and messages like an operator would.
 */
public final class PageServerProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on ([^ ]+):(\\d+)");

    private final Process process;
    private final Path stderrFile;
    private final int port;
    private ManagedChannel channel;

    private PageServerProcess(Process process, Path stderrFile, int port) {
        this.process = process;
        this.stderrFile = stderrFile;
        this.port = port;
    }

    /** Builds the command line for {@code args} under the test's own class path. */
    public static ProcessBuilder command(List<String> args, Map<String, String> env, Path logDir) throws IOException {
        return command(args, env, logDir, List.of());
    }

    /** ... with {@code jvmArgs} (e.g. {@code -Xmx256m}) for the page server's JVM. */
    public static ProcessBuilder command(List<String> args, Map<String, String> env, Path logDir, List<String> jvmArgs)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(List.of("--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow")); // lmdbjava, as bin/pageserver
        cmd.add(PageServerCli.class.getName());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("DBFS_PASSPHRASE");
        pb.environment().putAll(env);
        Files.createDirectories(logDir);
        pb.redirectError(logDir.resolve("stderr-" + System.nanoTime() + ".log").toFile());
        return pb;
    }

    /** Starts a page server and waits until it listens. */
    public static PageServerProcess start(List<String> args, Map<String, String> env, Path logDir) throws IOException {
        return start(args, env, logDir, List.of());
    }

    /** ... in a JVM started with {@code jvmArgs}. */
    public static PageServerProcess start(List<String> args, Map<String, String> env, Path logDir, List<String> jvmArgs)
            throws IOException {
        return start(args, env, logDir, jvmArgs, 0);
    }

    /** ... listening on {@code port} (0: any free port), so that a restarted page server is where its clients look. */
    public static PageServerProcess start(List<String> args, Map<String, String> env, Path logDir, List<String> jvmArgs,
                                          int port) throws IOException {
        List<String> all = new ArrayList<>(args);
        all.add("--listen");
        all.add("127.0.0.1:" + port);
        ProcessBuilder pb = command(all, env, logDir, jvmArgs);
        Path stderr = pb.redirectError().file().toPath();
        Process p = pb.start();
        int listening = ListeningLine.awaitPort(p, LISTENING, 2, 60);
        if (listening < 0) {
            String threads = p.isAlive() ? ListeningLine.threadDump(p) : "(exited with " + p.exitValue() + ")";
            p.destroyForcibly();
            throw new IOException("page server did not start; stderr:\n" + Files.readString(stderr) + "\nits threads:\n" + threads);
        }
        return new PageServerProcess(p, stderr, listening);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int port() {
        return port;
    }

    public synchronized PageServerGrpc.PageServerBlockingStub client() {
        if (channel == null) {
            channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .maxInboundMessageSize(64 << 20).build();
        }
        return PageServerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** SIGKILL: no shutdown hook, no final fsync. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        closeChannel();
    }

    public String stderr() throws IOException {
        return Files.readString(stderrFile);
    }

    private void closeChannel() {
        if (channel != null) {
            channel.shutdownNow();
            channel = null;
        }
    }

    /** SIGTERM, then waits (up to two minutes) for the clean stop; returns the exit code. */
    public int stopCleanly() throws InterruptedException {
        closeChannel();
        process.destroy();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            throw new IllegalStateException("the page server did not stop within 120 s of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGTERM and wait: the graceful stop. */
    @Override
    public void close() throws InterruptedException {
        closeChannel();
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
