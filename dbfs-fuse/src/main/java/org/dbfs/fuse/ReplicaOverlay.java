package org.dbfs.fuse;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Properties;
import org.dbfs.pgformat.wal.Lsn;

/**
 * A read-only mount's private directory ({@code --overlay-dir}): the replica's own copy of every
 * file that is not a relation page, and what it was copied at.
 *
 * <pre>
 * DIR/replica.properties  the snapshot: S, its timeline, the cluster's system identifier, and for a
 *                         time-travel mount its fixed point (written last)
 * DIR/data/               the data directory the mount shows; relation files are sparse, their pages come from the page server
 * DIR/data.partial/       a copy in progress; a mount that finds one starts the copy over
 * </pre>
 */
final class ReplicaOverlay {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ReplicaOverlay.class);
    private static final String STATE = "replica.properties";

    /**
     * What the overlay was copied at.
     *
     * @param lsn              S: the WAL end after the copy; the standby opens for queries only after replaying to it
     * @param timeline         the timeline S is on
     * @param systemIdentifier the cluster's, from pg_control: a later mount must be of the same cluster
     * @param readerId         this replica's name for its reader lease, unique in the bucket
     * @param atLsn            a time-travel mount's fixed point X_end (it never reads past it), or 0 for
     *                         a replica that follows the primary
     */
    record Snapshot(long lsn, int timeline, long systemIdentifier, String pageServer, Instant copiedAt, String readerId,
                    long atLsn) {
        Snapshot(long lsn, int timeline, long systemIdentifier, String pageServer, Instant copiedAt, String readerId) {
            this(lsn, timeline, systemIdentifier, pageServer, copiedAt, readerId, 0);
        }

        boolean isTimeTravel() {
            return atLsn != 0;
        }
    }

    private final Path dir;

    ReplicaOverlay(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    Path data() {
        return dir.resolve("data");
    }

    Path partial() {
        return dir.resolve("data.partial");
    }

    /** The snapshot this overlay holds, or null if no copy has finished here. */
    Snapshot snapshot() throws IOException {
        Path state = dir.resolve(STATE);
        if (!Files.exists(state)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(state, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        try {
            return new Snapshot(Lsn.parse(p.getProperty("snapshot_lsn")), Integer.parseInt(p.getProperty("timeline")),
                    Long.parseUnsignedLong(p.getProperty("system_identifier")), p.getProperty("page_server"),
                    Instant.parse(p.getProperty("copied_at")), p.getProperty("reader_id"),
                    p.getProperty("at_lsn") == null ? 0 : Lsn.parse(p.getProperty("at_lsn")));
        } catch (RuntimeException e) {
            throw new IOException(state + " is damaged (" + e + "); remove the overlay directory to copy afresh", e);
        }
    }

    /**
     * Where a fresh copy goes: creates the directory, removes an unfinished copy, and refuses a
     * data directory this mount did not make. @return {@link #partial()}, empty
     */
    Path startCopy() throws IOException {
        create();
        if (Files.exists(partial())) {
            log.info("overlay {}: removing an unfinished copy", dir);
            deleteTree(partial());
        }
        if (Files.exists(data())) {
            throw new IOException(data() + " exists but " + dir
                    + "/replica.properties does not: not an overlay this mount made; use a fresh --overlay-dir");
        }
        return partial();
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Makes a finished copy in {@link #partial()} the overlay's data directory, durably. */
    void commit(Snapshot s) throws IOException {
        Files.move(partial(), data(), StandardCopyOption.ATOMIC_MOVE);
        Properties p = new Properties();
        p.setProperty("snapshot_lsn", Lsn.format(s.lsn()));
        p.setProperty("timeline", Integer.toString(s.timeline()));
        p.setProperty("system_identifier", Long.toUnsignedString(s.systemIdentifier()));
        p.setProperty("page_server", s.pageServer());
        p.setProperty("copied_at", s.copiedAt().toString());
        p.setProperty("reader_id", s.readerId());
        if (s.isTimeTravel()) {
            p.setProperty("at_lsn", Lsn.format(s.atLsn()));
        }
        Path tmp = dir.resolve(STATE + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "dbfs read-only mount: the snapshot this overlay was copied at");
        }
        LocalFiles.fsync(tmp);
        Files.move(tmp, dir.resolve(STATE), StandardCopyOption.ATOMIC_MOVE);
        LocalFiles.fsync(dir);
    }

    /** Creates the directory (private to root: the standby's files below keep their own modes). */
    void create() throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    }
}
