package org.dbfs.fuse;

import java.io.IOException;
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
        ReplicaOverlay.Snapshot made = DataDirectoryCopy.copy(client, overlay.startCopy(), pageServer);
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
}
