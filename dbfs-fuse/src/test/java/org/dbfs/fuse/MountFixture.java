package org.dbfs.fuse;

import org.dbfs.pageserver.server.PageServer;
import org.dbfs.pageserver.server.PageServerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real page server on a temporary local bucket with a real read-write FUSE mount on it, for the
 * integration tests. Both can be restarted; {@link #close()} unmounts even after a failed test.
 */
final class MountFixture implements AutoCloseable {

    private static final char[] PASSPHRASE = "integration test passphrase".toCharArray();

    private final Path bucket;
    private final Path cache;
    final Path mountPoint;
    private final Path socket;
    private PageServer pageServer;
    private int port;
    private DbfsMount mount;

    private MountFixture(Path dir, boolean overSocket) throws IOException {
        bucket = Files.createDirectories(dir.resolve("bucket"));
        cache = Files.createDirectories(dir.resolve("cache"));
        mountPoint = Files.createDirectories(dir.resolve("mnt"));
        socket = overSocket ? dir.resolve("pageserver.sock") : null;
    }

    /** The mount talks gRPC over TCP. */
    static MountFixture start(Path dir) throws Exception {
        return start(dir, false);
    }

    /** @param overSocket the mount uses the page server's Unix-domain socket instead of gRPC */
    static MountFixture start(Path dir, boolean overSocket) throws Exception {
        MountFixture f = new MountFixture(dir, overSocket);
        try {
            f.startPageServer();
            f.mount();
        } catch (Exception | Error e) {
            f.close();
            throw e;
        }
        return f;
    }

    /** The page server's gRPC address, for tools. */
    String grpcAddress() {
        return "127.0.0.1:" + port;
    }

    /** What the mount is given: HOST:PORT, or unix:PATH. */
    String pageServerAddress() {
        return socket != null ? "unix:" + socket : "127.0.0.1:" + port;
    }

    void startPageServer() throws IOException {
        PageServerConfig config = PageServerConfig.of(bucket.toUri().toString(), cache, PASSPHRASE.clone())
                .withListen("127.0.0.1", port).withLocalSocket(socket);
        pageServer = PageServer.start(config);
        port = pageServer.port();
    }

    /** The running page server's store, for its test seams. */
    org.dbfs.pageserver.store.PageStore pageStore() {
        return pageServer.pageStore();
    }

    void stopPageServer() throws IOException {
        if (pageServer != null) {
            try {
                pageServer.close();
            } finally {
                pageServer = null; // a refused clean stop (a failed journal) still ends this page server
            }
        }
    }

    void mount() throws Exception {
        mount = DbfsMount.mountReadWrite(pageServerAddress(), mountPoint, List.of());
    }

    /** Unmounts the way an administrator would, then lets the mount finish. @return the final sync's result */
    int unmount() throws Exception {
        int result = 0;
        if (mount != null) {
            if (MountTable.isMountPoint(mountPoint)) {
                fusermount("-u");
            }
            if (MountTable.isMountPoint(mountPoint)) {
                fusermount("-uz");
            }
            result = mount.unmount();
            mount = null;
        }
        return result;
    }

    @Override
    public void close() throws Exception {
        try {
            unmount();
        } finally {
            stopPageServer();
        }
    }

    private void fusermount(String flags) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("fusermount3", flags, mountPoint.toString()).inheritIO().start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }
}
