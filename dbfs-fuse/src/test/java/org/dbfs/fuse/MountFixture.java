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
    private PageServer pageServer;
    private int port;
    private DbfsMount mount;

    private MountFixture(Path dir) throws IOException {
        bucket = Files.createDirectories(dir.resolve("bucket"));
        cache = Files.createDirectories(dir.resolve("cache"));
        mountPoint = Files.createDirectories(dir.resolve("mnt"));
    }

    static MountFixture start(Path dir) throws Exception {
        MountFixture f = new MountFixture(dir);
        try {
            f.startPageServer();
            f.mount();
        } catch (Exception | Error e) {
            f.close();
            throw e;
        }
        return f;
    }

    String pageServerAddress() {
        return "127.0.0.1:" + port;
    }

    void startPageServer() throws IOException {
        PageServerConfig config = PageServerConfig.of(bucket.toUri().toString(), cache, PASSPHRASE.clone())
                .withListen("127.0.0.1", port);
        pageServer = PageServer.start(config);
        port = pageServer.port();
    }

    void stopPageServer() throws IOException {
        if (pageServer != null) {
            pageServer.close();
            pageServer = null;
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
