package org.dbfs.tests;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.archive.ArchiveCatalog;
import org.dbfs.walservice.archive.ArchiveReader;
import org.dbfs.walservice.wal.WalSegments;

/**
 * A PostgreSQL 15 primary configured by postgres-conf/walservice-primary.conf (the WAL service as
 * its synchronous standby, slot "walservice") plus the paths a WAL service for it uses.
 */
final class PrimaryWithWalService implements AutoCloseable {
    static final Path CONF = Path.of("..", "postgres-conf", "walservice-primary.conf");

    final PostgresCluster pg;
    final Path bucket;
    final Path dataDir;
    final Path logs;

    private PrimaryWithWalService(PostgresCluster pg, Path root) {
        this.pg = pg;
        this.bucket = root.resolve("bucket");
        this.dataDir = root.resolve("walservice");
        this.logs = root.resolve("logs");
    }

    static PrimaryWithWalService start(Path root) throws IOException, InterruptedException {
        Path pgHome = Files.createDirectories(root.resolve("pg"));
        PostgresCluster.makeTraversableForPostgres(pgHome);
        PostgresCluster.chownToPostgres(pgHome);
        // The tests compare the archive with the primary's own segments, so keep them all.
        Path keep = root.resolve("keep-wal.conf");
        Files.writeString(keep, "wal_keep_size = 4096MB\n");
        PostgresCluster pg = PostgresCluster.initdb(pgHome.resolve("data"), root.resolve("pgwork"), List.of(CONF, keep));
        pg.start();
        return new PrimaryWithWalService(pg, root);
    }

    String conninfo() {
        return "host=127.0.0.1 port=" + pg.port() + " user=postgres";
    }

    WalServiceProcess startService() throws IOException {
        return WalServiceProcess.start(conninfo(), bucket, dataDir, logs);
    }

    long lsn(String sql) throws SQLException {
        return pg.queryLong("SELECT (" + sql + " - '0/0'::pg_lsn)::bigint");
    }

    /** Bytes [start, end) from the primary's own pg_wal segment files. */
    byte[] primaryWal(long start, long end) throws IOException {
        WalSegments segs = new WalSegments(16 << 20);
        byte[] out = new byte[Math.toIntExact(end - start)];
        for (long lsn = start; lsn < end; ) {
            int n = (int) Math.min(segs.nextSegmentStart(lsn) - lsn, end - lsn);
            Path f = pg.dataDir().resolve("pg_wal").resolve(segs.fileNameFor(1, lsn));
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "r")) {
                raf.seek(segs.offsetInSegment(lsn));
                raf.readFully(out, (int) (lsn - start), n);
            }
            lsn += n;
        }
        return out;
    }

    /** Ends the current WAL segment and waits until {@code svc} archived past it. @return the primary's flush LSN then */
    long switchWalAndAwaitArchive(WalServiceProcess svc, int seconds) throws SQLException, InterruptedException {
        pg.queryLong("SELECT 1 FROM pg_switch_wal()");
        long end = lsn("pg_current_wal_flush_lsn()");
        await("the archive to pass the WAL switch", seconds, () -> svc.positions().getArchivedLsn() >= end);
        return end;
    }

    /**
     * The archive is one contiguous range (no gap, no overlap) equal, up to {@code end}, to the
     * primary's own segments byte for byte. @return its catalog
     */
    ArchiveCatalog assertArchiveEqualsPrimaryWal(ArchiveReader reader, long end) throws IOException {
        ArchiveCatalog catalog = reader.catalog();
        if (!catalog.discontinuities().isEmpty()) {
            throw new AssertionError("the archive has gaps or overlaps: " + catalog.discontinuities());
        }
        long step = 4 << 20;
        for (long lsn = catalog.start(); lsn < end; lsn += step) {
            long to = Math.min(end, lsn + step);
            byte[] archived = reader.read(lsn, to);
            byte[] primary = primaryWal(lsn, to);
            if (!java.util.Arrays.equals(primary, archived)) {
                throw new AssertionError("archived WAL differs from pg_wal in " + fmt(lsn) + ".." + fmt(to)
                        + " at byte " + java.util.Arrays.mismatch(primary, archived));
            }
        }
        return catalog;
    }

    ArchiveReader archiveReader(ObjectStore store) {
        return new ArchiveReader(store, BucketKeys.openOrCreate(store, WalServiceProcess.PASSPHRASE.toCharArray()), 1);
    }

    ObjectStore openBucket() {
        return ObjectStores.open(bucket.toUri().toString(), null);
    }

    /** Polls {@code condition} until it holds or {@code seconds} pass; fails with {@code what}. */
    static void await(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static String fmt(long lsn) {
        return Lsn.format(lsn);
    }

    @Override
    public void close() throws Exception {
        pg.close();
    }
}
