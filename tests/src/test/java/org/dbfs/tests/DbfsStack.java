package org.dbfs.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dbfs.bucket.objectstore.S3ProxyServer;
import org.dbfs.fuse.DbfsMount;
import org.dbfs.pageserver.server.PageServerProcess;

/**
 * The whole stack for one test: a page server in a child process (so it can be killed with -9),
 * a read-write DbFS mount in this JVM connected to it by its Unix-domain socket, and a PostgreSQL
 * data directory on the mount.
 */
final class DbfsStack implements AutoCloseable {
    static final String PASSPHRASE = "end-to-end test passphrase";

    private final Path root;
    private final List<String> bucketArgs;
    private final Map<String, String> env;
    private PageServerProcess pageServer;
    private DbfsMount mount;
    private String cacheDir = "cache";
    private List<String> pageServerJvmArgs = List.of();
    private int port; // 0: any free port

    /**
     * @param root       a fresh directory; made traversable for the postgres user
     * @param bucketArgs --bucket (and --s3-endpoint) arguments
     */
    DbfsStack(Path root, List<String> bucketArgs, Map<String, String> env) throws IOException {
        this.root = root;
        this.bucketArgs = bucketArgs;
        this.env = env;
        Files.createDirectories(root.resolve("mnt"));
        PostgresCluster.makeTraversableForPostgres(root);
    }

    static DbfsStack onLocalBucket(Path root) throws IOException {
        return new DbfsStack(root, List.of("--bucket", root.resolve("bucket").toUri().toString()),
                Map.of("DBFS_PASSPHRASE", PASSPHRASE));
    }

    /** A stack whose bucket is {@code s3://BUCKET/pg} on the S3-compatible server {@code s3}. */
    static DbfsStack onS3(S3ProxyServer s3, Path root, String... pageServerArgs) throws IOException {
        return onS3(s3, s3.endpoint(), root, pageServerArgs);
    }

    /** ... reached at {@code endpoint} (a proxy in front of {@code s3}). */
    static DbfsStack onS3(S3ProxyServer s3, String endpoint, Path root, String... pageServerArgs) throws IOException {
        Map<String, String> env = Map.of("DBFS_PASSPHRASE", PASSPHRASE,
                "AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY,
                "AWS_REGION", "us-east-1");
        List<String> args = new ArrayList<>(List.of("--bucket", "s3://" + s3.bucket() + "/pg", "--s3-endpoint", endpoint));
        args.addAll(List.of(pageServerArgs));
        return new DbfsStack(root, args, env);
    }

    Path root() {
        return root;
    }

    Path mountPoint() {
        return root.resolve("mnt");
    }

    void startPageServer() throws IOException {
        startPageServer(List.of());
    }

    /** @param moreArgs further page server options, e.g. --walservice */
    void startPageServer(List<String> moreArgs) throws IOException {
        List<String> args = new ArrayList<>(bucketArgs);
        args.addAll(List.of("--cache-dir", cacheDir().toString(), "--listen-socket", socket().toString()));
        args.addAll(moreArgs);
        pageServer = PageServerProcess.start(args, env, root.resolve("logs"), pageServerJvmArgs, port);
    }

    /** Later page servers listen on TCP {@code port}, as a page server on another machine would stay where its mounts look. */
    void usePort(int port) {
        this.port = port;
    }

    /** Later page servers run in a JVM started with these options (e.g. {@code -Xmx256m}). */
    void usePageServerJvmArgs(List<String> jvmArgs) {
        pageServerJvmArgs = List.copyOf(jvmArgs);
    }

    /** The page server's arguments and environment, to run it by hand (e.g. expecting a refusal). */
    ProcessBuilder pageServerCommand(List<String> moreArgs) throws IOException {
        List<String> args = new ArrayList<>(bucketArgs);
        args.addAll(List.of("--cache-dir", cacheDir().toString(), "--listen", "127.0.0.1:0"));
        args.addAll(moreArgs);
        return PageServerProcess.command(args, env, root.resolve("logs"));
    }

    /** Later page servers use {@code name} below the stack's root as their cache directory (a new machine). */
    void useCacheDir(String name) {
        cacheDir = name;
    }

    Path cacheDir() {
        return root.resolve(cacheDir);
    }

    /** SIGTERM: the page server packs everything into the bucket; returns its exit code. */
    int stopPageServerCleanly() throws InterruptedException {
        int code = pageServer.stopCleanly();
        pageServer = null;
        return code;
    }

    PageServerProcess pageServer() {
        return pageServer;
    }

    void killPageServer() throws InterruptedException {
        pageServer.kill9();
        pageServer = null;
    }

    /** The page server's Unix-domain socket: the mount uses it, as scripts/quickstart's does (gRPC over TCP stays for tools). */
    Path socket() {
        return root.resolve("pageserver.sock");
    }

    void mount() throws Exception {
        mount = DbfsMount.mountReadWrite("unix:" + socket(), mountPoint(), List.of());
    }

    /** Mounts read-write, checking that the page server serves branch {@code name} (dbfs mount --rw --branch). */
    void mountBranch(String name) throws Exception {
        mount = DbfsMount.mountReadWrite("unix:" + socket(), mountPoint(), List.of(), name);
    }

    /** @return 0 if everything was durable at unmount, else -EIO */
    int unmount() {
        int result = mount.unmount();
        mount = null;
        return result;
    }

    /**
     * The mount's root, owned by postgres with mode 0700, for {@code initdb -D}: the data directory
     * is the root of a DbFS mount (only there are relation files stored as LSN-versioned pages).
     */
    Path dataDirectory() throws IOException, InterruptedException {
        Path data = mountPoint();
        PostgresCluster.chownToPostgres(data);
        Files.setPosixFilePermissions(data, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        return data;
    }

    @Override
    public void close() throws Exception {
        try {
            if (mount != null) {
                mount.unmount();
            }
            if (pageServer != null) {
                pageServer.close();
            }
        } finally {
            echoProblems(root.resolve("logs"));
        }
    }

    /**
     * Copies the ERROR and WARN lines of the child processes' logs into the test's output: the logs
     * are deleted with the test's directory, and a failure on a CI machine needs them (scripts/test
     * prints a failing test's ERROR and WARN lines).
     */
    static void echoProblems(Path logDir) {
        if (!Files.isDirectory(logDir)) {
            return;
        }
        try (var logs = Files.list(logDir)) {
            for (Path log : logs.sorted().toList()) {
                List<String> problems = Files.readAllLines(log).stream()
                        .filter(l -> l.contains(" ERROR ") || l.contains(" WARN ") || l.contains("Exception")).toList();
                for (String l : problems.subList(Math.max(0, problems.size() - 40), problems.size())) {
                    System.out.println(log.getFileName() + ": " + l);
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            System.out.println("could not read the logs in " + logDir + ": " + e);
        }
    }
}
