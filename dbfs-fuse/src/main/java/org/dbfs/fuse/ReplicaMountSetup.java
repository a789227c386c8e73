package org.dbfs.fuse;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The overlay a read-only mount starts from: the one already there, or a fresh copy. */
final class ReplicaMountSetup {
    private static final Logger log = LoggerFactory.getLogger(ReplicaMountSetup.class);

    private ReplicaMountSetup() {}

    static ReplicaOverlay.Snapshot snapshot(PageServerClient client, String pageServer, ReplicaOverlay overlay)
            throws IOException {
        ReplicaOverlay.Snapshot existing = overlay.snapshot();
        if (existing != null) {
            long cluster = clusterOf(client, pageServer);
            if (cluster != existing.systemIdentifier()) {
                throw new IOException("the overlay " + overlay.dir() + " was copied from the cluster with system identifier "
                        + Long.toUnsignedString(existing.systemIdentifier()) + ", but page server " + pageServer
                        + " holds " + Long.toUnsignedString(cluster) + ": use a fresh --overlay-dir");
            }
            log.info("overlay {}: going on from its snapshot S = {} (copied {} from {})", overlay.dir(),
                    Lsn.format(existing.lsn()), existing.copiedAt(), existing.pageServer());
            return existing;
        }
        overlay.create();
        if (Files.exists(overlay.partial())) {
            log.info("overlay {}: removing an unfinished copy", overlay.dir());
            deleteTree(overlay.partial());
        }
        if (Files.exists(overlay.data())) {
            throw new IOException(overlay.data() + " exists but " + overlay.dir()
                    + "/replica.properties does not: not an overlay this mount made; use a fresh --overlay-dir");
        }
        ReplicaOverlay.Snapshot made = DataDirectoryCopy.copy(client, overlay.partial(), pageServer);
        overlay.commit(made);
        return made;
    }

    private static long clusterOf(PageServerClient client, String pageServer) throws IOException {
        NodeReply node = client.getAttr(DataDirectoryCopy.CONTROL_FILE);
        if (node.getErrno() != 0) {
            throw new IOException("page server " + pageServer + " holds no PostgreSQL data directory at its root ("
                    + DataDirectoryCopy.CONTROL_FILE + " is missing)");
        }
        ReadFileReply r = client.readFile(node.getAttr().getIno(), 0, ControlFile.PG_CONTROL_FILE_SIZE);
        return ControlFile.parse(r.getData().toByteArray()).systemIdentifier();
    }

    static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
