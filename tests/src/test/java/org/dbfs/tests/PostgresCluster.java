package org.dbfs.tests;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL 15 cluster driven through its own tools (initdb, pg_ctl, pgbench, pg_amcheck),
 * run as the unprivileged {@code postgres} user because PostgreSQL refuses to run as root.
 */
public final class PostgresCluster implements AutoCloseable {
    public static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
    static final String OS_USER = "postgres";

    private final Path dataDir;
    private final Path socketDir;
    private final Path logFile;
    private final int port;
    private boolean running;
    private long postmasterPid = -1;

    private PostgresCluster(Path dataDir, Path socketDir, Path logFile, int port) {
        this.dataDir = dataDir;
        this.socketDir = socketDir;
        this.logFile = logFile;
        this.port = port;
    }

    /**
     * Runs initdb into {@code dataDir} (which must not exist yet; its parent must be writable by
     * the postgres user) and appends the given settings files to postgresql.conf.
     */
    public static PostgresCluster initdb(Path dataDir, Path workDir, List<Path> confFiles) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        chownToPostgres(workDir);
        Path socketDir = Files.createDirectories(workDir.resolve("sock"));
        chownToPostgres(socketDir);
        run(List.of(BIN.resolve("initdb").toString(), "-D", dataDir.toString(), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C"), workDir.resolve("initdb.log"), 600);
        int port = freePort();
        StringBuilder conf = new StringBuilder("\n# added by the DbFS test harness\n");
        conf.append("port = ").append(port).append('\n');
        conf.append("listen_addresses = '127.0.0.1'\n");
        conf.append("unix_socket_directories = '").append(socketDir).append("'\n");
        for (Path f : confFiles) {
            conf.append(Files.readString(f)).append('\n');
        }
        appendToConf(dataDir, workDir, conf.toString());
        return new PostgresCluster(dataDir, socketDir, workDir.resolve("postgres.log"), port);
    }

    /** pg_basebackup of this cluster into {@code dataDir} (fast checkpoint, WAL streamed alongside) plus {@code extraArgs}. */
    public void baseBackup(Path dataDir, Path log, String... extraArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("pg_basebackup").toString(), "-h", "127.0.0.1",
                "-p", Integer.toString(port), "-U", "postgres", "-D", dataDir.toString(), "-X", "stream", "-c", "fast"));
        cmd.addAll(List.of(extraArgs));
        run(cmd, log, 600);
    }

    /**
     * A {@link #baseBackup} made a standby (standby.signal) on a free port and its own socket
     * directory under {@code workDir}, with {@code settings} appended to its postgresql.conf; not started.
     */
    public static PostgresCluster standby(Path dataDir, Path workDir, String settings) throws IOException, InterruptedException {
        PostgresCluster pg = configured(dataDir, workDir, settings);
        run(List.of("touch", dataDir.resolve("standby.signal").toString()), workDir.resolve("standby-signal.log"), 60);
        return pg;
    }

    /**
     * A data directory that already holds its own recovery setup (a branch's, say), on a free port
     * and its own socket directory under {@code workDir}, with {@code settings} appended; not started.
     */
    public static PostgresCluster configured(Path dataDir, Path workDir, String settings) throws IOException, InterruptedException {
        Files.createDirectories(workDir.resolve("sock"));
        chownToPostgres(workDir);
        chownToPostgres(workDir.resolve("sock"));
        appendToConf(dataDir, workDir, "\n# added by the DbFS test harness\nport = " + freePort() + "\n"
                + "unix_socket_directories = '" + workDir.resolve("sock") + "'\n" + settings);
        return existing(dataDir, workDir);
    }

    /** Appends {@code text} to the postgresql.conf of {@code dataDir} as the postgres user, who owns the data directory. */
    private static void appendToConf(Path dataDir, Path workDir, String text) throws IOException, InterruptedException {
        Path staging = workDir.resolve("postgresql.conf.add");
        Files.writeString(staging, text, StandardCharsets.UTF_8);
        chownToPostgres(staging);
        run(List.of("sh", "-c", "cat '" + staging + "' >> '" + dataDir.resolve("postgresql.conf") + "'"),
                workDir.resolve("conf.log"), 60);
    }

    /** Uses an existing data directory (after a restart of the storage underneath, say). */
    public static PostgresCluster existing(Path dataDir, Path workDir) throws IOException {
        String conf = Files.readString(dataDir.resolve("postgresql.conf"));
        int port = -1;
        for (String line : conf.split("\n")) {
            if (line.startsWith("port = ")) {
                port = Integer.parseInt(line.substring(7).trim());
            }
        }
        return new PostgresCluster(dataDir, workDir.resolve("sock"), workDir.resolve("postgres.log"), port);
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The postmaster's process id (from postmaster.pid when it started). */
    public long postmasterPid() {
        return postmasterPid;
    }

    /** The postmaster and every process it started (backends, walsender, checkpointer, ...). */
    public List<Long> processIds() {
        List<Long> pids = new ArrayList<>();
        ProcessHandle.of(postmasterPid).ifPresent(h -> {
            pids.add(h.pid());
            h.descendants().forEach(d -> pids.add(d.pid()));
        });
        return pids;
    }

    public void start() throws IOException, InterruptedException {
        try {
            run(List.of(BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", logFile.toString(), "-w",
                    "-t", "300", "start"), logFile.resolveSibling("pg_ctl.log"), 320);
        } catch (IOException e) {
            // The temp directory, log included, is gone once the test ends: say why here.
            List<String> lines = Files.exists(logFile) ? Files.readAllLines(logFile) : List.of("(no log)");
            throw new IOException(e.getMessage() + "\n--- the last lines of " + logFile + " ---\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())), e);
        }
        running = true;
        // Kept for crashStop(): once the storage is gone, pg_ctl cannot read postmaster.pid.
        postmasterPid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
    }

    /**
     * Stops PostgreSQL the way a crash would, without touching the data directory: SIGQUIT to the
     * postmaster (an immediate shutdown), then SIGKILL if it lingers. Works when the storage is gone.
     */
    public void crashStop() throws InterruptedException {
        var handle = ProcessHandle.of(postmasterPid);
        if (handle.isPresent()) {
            try {
                new ProcessBuilder("kill", "-QUIT", Long.toString(postmasterPid)).start().waitFor();
                handle.get().onExit().get(60, TimeUnit.SECONDS);
            } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                handle.get().destroyForcibly();
            }
        }
        running = false;
    }

    /**
     * Starts PostgreSQL again if a fault made it give up (a PANIC during crash recovery ends the
     * postmaster), and returns once it accepts connections.
     */
    public void ensureRunning() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            if (!ProcessHandle.of(postmasterPid).map(ProcessHandle::isAlive).orElse(false)) {
                start();
                return;
            }
            try (Connection c = connect()) {
                return;
            } catch (SQLException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("PostgreSQL did not come back within 300 s; its log:\n" + log(), notYet);
                }
                Thread.sleep(100); // the postmaster is restarting after a PANIC: polling its recovery with a deadline
            }
        }
    }

    public void stop() throws IOException, InterruptedException {
        run(List.of(BIN.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "300", "stop"),
                logFile.resolveSibling("pg_ctl.log"), 320);
        running = false;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
    }

    public long queryLong(String sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Runs pgbench with the given arguments against this cluster; returns its output. */
    public String pgbench(Path workDir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("pgbench").toString(), "-h", "127.0.0.1",
                "-p", Integer.toString(port), "-U", "postgres"));
        cmd.addAll(List.of(args));
        cmd.add("postgres");
        Path out = workDir.resolve("pgbench-" + System.nanoTime() + ".log");
        run(cmd, out, 1200);
        return Files.readString(out);
    }

    /** pg_amcheck over every database, heap and index (with --heapallindexed); returns its output. */
    public String amcheck(Path workDir) throws IOException, InterruptedException {
        Path out = workDir.resolve("amcheck-" + System.nanoTime() + ".log");
        run(List.of(BIN.resolve("pg_amcheck").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port),
                "-U", "postgres", "--all", "--install-missing", "--heapallindexed"), out, 1200);
        return Files.readString(out);
    }

    /**
     * The TPC-B invariant of pgbench: every transaction adds the same delta to one account, one
     * teller, one branch and one history row.
     */
    public long[] balances() throws SQLException {
        return new long[] {
            queryLong("SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts"),
            queryLong("SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches"),
            queryLong("SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers"),
            queryLong("SELECT coalesce(sum(delta), 0) FROM pgbench_history"),
        };
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (running) {
            try {
                stop();
            } catch (IOException e) {
                crashStop();
            }
        }
    }

    public String log() throws IOException {
        return Files.exists(logFile) ? Files.readString(logFile) : "(no log)";
    }

    /**
     * The postgres user must reach directories under a test's temp dir: open up the test's own
     * directories (JUnit makes them 0700), adding read and search only, and stop below the
     * top-level one (/tmp).
     */
    static void makeTraversableForPostgres(Path root) throws IOException {
        for (Path p = root; p != null && p.getNameCount() > 1; p = p.getParent()) {
            Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(p));
            perms.addAll(EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
            Files.setPosixFilePermissions(p, perms);
        }
    }

    /** A directory for the postgres user's files (logs, sockets, settings to append): created, reachable, its own. */
    static Path workDirectory(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        makeTraversableForPostgres(dir);
        chownToPostgres(dir);
        return dir;
    }

    static void chownToPostgres(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("chown", OS_USER + ":" + OS_USER, p.toString()).inheritIO().start();
        if (proc.waitFor() != 0) {
            throw new IOException("chown postgres " + p + " failed");
        }
    }

    /** Runs a command as the postgres user, output to {@code log}; fails with the log on non-zero exit. */
    static void run(List<String> command, Path log, long timeoutSeconds) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", OS_USER, "--"));
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out after " + timeoutSeconds + " s: " + String.join(" ", command)
                    + "\n" + Files.readString(log));
        }
        if (p.exitValue() != 0) {
            throw new IOException("exit " + p.exitValue() + ": " + String.join(" ", command) + "\n" + Files.readString(log));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
