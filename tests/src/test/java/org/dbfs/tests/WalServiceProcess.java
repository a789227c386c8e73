package org.dbfs.tests;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.dbfs.pageserver.server.ListeningLine;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;
import org.dbfs.walservice.cli.WalServiceCli;

/** The WAL service in a child JVM through its real command line, so a test can SIGKILL it and read its exit code and log. */
final class WalServiceProcess implements AutoCloseable {
    static final String PASSPHRASE = "walservice test passphrase";
    private static final Pattern LISTENING = Pattern.compile("walservice listening on [^ ]+:(\\d+)");

    private final Process process;
    private final Path log;
    private final int port;
    private ManagedChannel channel;

    private WalServiceProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** The java command line of {@code walservice} over {@code classPath}, with bin/walservice's JVM options. */
    static List<String> javaCommand(String classPath) {
        return List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", classPath, "--enable-native-access=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", WalServiceCli.class.getName());
    }

    /** The child process for {@code args}, its stderr (the service's log) to {@code log}. */
    static Process spawn(List<String> args, String passphrase, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(javaCommand(System.getProperty("java.class.path")));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("DBFS_PASSPHRASE", passphrase);
        Files.createDirectories(log.getParent());
        pb.redirectError(log.toFile());
        return pb.start();
    }

    /** Runs {@code walservice ARGS} (a subcommand such as waldump) to completion in a child JVM. */
    static ChildJvm.Result run(List<String> args, Path logDir) throws IOException, InterruptedException {
        return ChildJvm.run(WalServiceCli.class, args, java.util.Map.of("DBFS_PASSPHRASE", PASSPHRASE), logDir);
    }

    int port() {
        return port;
    }

    /** Starts the service on a free port and waits until it listens. */
    static WalServiceProcess start(String primary, Path bucket, Path dataDir, Path logDir) throws IOException {
        return start(primary, bucket, dataDir, logDir, 0);
    }

    /** Starts the service on {@code port} (0: a free one) and waits until it listens. */
    static WalServiceProcess start(String primary, Path bucket, Path dataDir, Path logDir, int port) throws IOException {
        return start(primary, bucket, dataDir, logDir, port, List.of());
    }

    /** As above, with more options (e.g. --metrics-listen). */
    static WalServiceProcess start(String primary, Path bucket, Path dataDir, Path logDir, int port, List<String> moreArgs)
            throws IOException {
        Path log = logDir.resolve("walservice-" + System.nanoTime() + ".log");
        List<String> args = new ArrayList<>(List.of("--primary", primary, "--slot", "walservice", "--bucket",
                bucket.toUri().toString(), "--data-dir", dataDir.toString(), "--listen", "127.0.0.1:" + port));
        args.addAll(moreArgs);
        Process p = spawn(args, PASSPHRASE, log);
        int listening = ListeningLine.awaitPort(p, LISTENING, 1, 60);
        if (listening < 0) {
            String threads = p.isAlive() ? ListeningLine.threadDump(p) : "(exited with " + p.exitValue() + ")";
            p.destroyForcibly();
            throw new IOException("walservice did not start; log:\n" + Files.readString(log) + "\nits threads:\n" + threads);
        }
        return new WalServiceProcess(p, log, listening);
    }


    synchronized WalServiceGrpc.WalServiceBlockingStub client() {
        if (channel == null) {
            channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().maxInboundMessageSize(64 << 20).build();
        }
        return WalServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    Positions positions() {
        return client().getPositions(GetPositionsRequest.getDefaultInstance());
    }

    /** jcmd Thread.print of the child, for failure messages. */
    String threadDump() throws IOException, InterruptedException {
        Path jcmd = Path.of(ProcessHandle.current().info().command().orElse("java")).resolveSibling("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.print").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    /** SIGKILL: no shutdown hook, no final fsync or upload. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        closeChannel();
    }

    private synchronized void closeChannel() {
        if (channel != null) {
            channel.shutdownNow();
            channel = null;
        }
    }

    /** SIGTERM and wait: the graceful stop (flush, fsync, final upload). */
    @Override
    public void close() throws InterruptedException {
        closeChannel();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
