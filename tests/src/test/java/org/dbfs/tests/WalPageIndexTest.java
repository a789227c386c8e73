package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.protocol.walservice.PageRecordsRequests;
import org.dbfs.protocol.walservice.v1.GetPageRecordsReply;
import org.dbfs.protocol.walservice.v1.PageRecord;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.pgformat.wal.Lsn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-page WAL index, {@code walservice waldump} and {@code walservice page-history} against
 * pg_waldump over the same range of a real PostgreSQL 15 primary's WAL (pgbench -i -s 2, then a
 * short pgbench), with the service as its synchronous standby in a child JVM.
 */
class WalPageIndexTest {
    @TempDir
    Path tmp;

    @Test
    void indexWaldumpAndPageHistoryEqualPgWaldump() throws Exception {
        try (PrimaryWithWalService p = PrimaryWithWalService.start(tmp)) {
            Path work = Files.createDirectories(tmp.resolve("bench"));
            PostgresCluster.chownToPostgres(work);
            try (WalServiceProcess svc = p.startService()) {
                long t0 = System.nanoTime();
                p.pg.pgbench(work, "-i", "-s", "2", "-q");
                p.pg.pgbench(work, "-T", "5", "-c", "2");
                long end = quiescentEnd(p);
                await("the index and the archive to pass " + fmt(end), 120, () -> {
                    var pos = svc.positions();
                    assertEquals("", pos.getIndexError());
                    return pos.getIndexedLsn() >= end && pos.getArchivedLsn() >= end;
                });
                double seconds = (System.nanoTime() - t0) / 1e9;
                long start;
                try (ObjectStore store = p.openBucket()) {
                    start = p.archiveReader(store).catalog().start();
                }
                Path pgWal = p.pg.dataDir().resolve("pg_wal");
                PgWaldumpOracle oracle = PgWaldumpOracle.dump(pgWal, start, end, tmp);
                System.out.printf("WAL %s..%s: %d records (pg_waldump), %d pages touched; workload + indexing %.1f s%n",
                        fmt(start), fmt(end), oracle.records, oracle.pages.size(), seconds);

                // 1. GetPageRecords for branches, tellers (every block), accounts and its pkey (some blocks, every fork seen)
                Rels rels = Rels.of(p);
                List<BufferTag> keys = oracle.pick(List.of(rels.branches, rels.tellers), List.of(rels.accounts, rels.accountsPkey));
                assertTrue(keys.stream().anyMatch(k -> k.rel().relNode() == rels.accountsPkey), "pkey blocks picked: " + keys);
                int compared = oracle.assertIndexEquals(svc, keys, end);
                System.out.printf("index == pg_waldump for %d pages (%d records), forks %s%n", keys.size(), compared,
                        keys.stream().map(k -> k.rel().forkNum()).distinct().sorted().toList());

                // 1b. with_wal: the WAL pages under the records come along, byte for byte as in the primary's pg_wal
                int walPages = 0;
                for (BufferTag k : keys) {
                    GetPageRecordsReply r = svc.client().getPageRecords(PageRecordsRequests.forPage(k).setToLsn(end)
                            .setWithWal(true).build());
                    walPages += assertWalUnderRecords(r, pgWal, end, k);
                }
                System.out.printf("with_wal: %d WAL pages under the records of %d pages, equal to pg_wal's%n", walPages, keys.size());

                // 2. waldump --stats=record from the archive == pg_waldump --stats=record
                String theirs = String.join("\n", PgWaldumpOracle.run(tmp, "--stats=record", "-p", pgWal.toString(),
                        "-s", Lsn.format(start), "-e", Lsn.format(end))) + "\n";
                ChildJvm.Result mine = WalServiceProcess.run(List.of("waldump", "--bucket", p.bucket.toUri().toString(),
                        "--start", Lsn.format(start), "--end", Lsn.format(end), "--stats=record"), p.logs);
                assertEquals(0, mine.exitCode(), mine.stderr());
                assertEquals(theirs, mine.stdout(), "walservice waldump --stats=record vs pg_waldump --stats=record");

                // ... and one line per record: the same count as pg_waldump's
                ChildJvm.Result lines = WalServiceProcess.run(List.of("waldump", "--bucket", p.bucket.toUri().toString(),
                        "--start", Lsn.format(start), "--end", Lsn.format(end)), p.logs);
                assertEquals(0, lines.exitCode(), lines.stderr());
                assertEquals(oracle.records, lines.stdout().lines().filter(l -> l.startsWith("rmgr: ")).count(), "one line per record");

                // 3. page-history of one block, from the service's index and from the archive, == pg_waldump's list
                BufferTag block = keys.getFirst();
                List<String> expected = oracle.pages.get(block).values().stream()
                        .map(t -> Lsn.formatPadded(t.lsn()) + " " + t.type() + (t.fpw() ? " FPW" : "")).toList();
                List<String> rel = List.of("page-history", "--rel", Integer.toUnsignedString(block.rel().spcNode()) + "/"
                        + Integer.toUnsignedString(block.rel().dbNode()) + "/" + Integer.toUnsignedString(block.rel().relNode()),
                        "--fork", "main", "--block", Integer.toString(block.blockNum()), "--end", Lsn.format(end));
                ChildJvm.Result viaIndex = WalServiceProcess.run(concat(rel, "--walservice", "127.0.0.1:" + svc.port()), p.logs);
                ChildJvm.Result viaArchive = WalServiceProcess.run(concat(rel, "--bucket", p.bucket.toUri().toString(),
                        "--start", Lsn.format(start)), p.logs);
                assertEquals(0, viaIndex.exitCode(), viaIndex.stderr());
                assertEquals(0, viaArchive.exitCode(), viaArchive.stderr());
                assertEquals(viaArchive.stdout(), viaIndex.stdout(), "page-history: index and archive scan agree, end LSNs and flags included");
                assertEquals(expected, withoutEndAndInit(viaIndex.stdout()), "page-history of " + block + " vs pg_waldump");
                System.out.printf("page-history %s: %d records, e.g. %s%n", block, expected.size(), viaIndex.stdout().lines().findFirst().orElse(""));

                // 4. a range the archive lacks is named
                ChildJvm.Result missing = WalServiceProcess.run(List.of("waldump", "--bucket", p.bucket.toUri().toString(),
                        "--start", Lsn.format(end + (64L << 20)), "--end", Lsn.format(end + (65L << 20))), p.logs);
                assertEquals(1, missing.exitCode());
                assertTrue(missing.stderr().contains("has no WAL for " + Lsn.format(end + (64L << 20))), missing.stderr());
            }
        }
    }

    /**
     * Each record's bytes lie within the reply's WAL chunks (up to {@code end}), every chunk starts
     * on a WAL page boundary, and each chunk equals the primary's pg_wal file at that place.
     * @return the WAL pages the chunks hold
     */
    private static int assertWalUnderRecords(GetPageRecordsReply r, Path pgWal, long end, BufferTag k) throws Exception {
        int pages = 0;
        for (WalChunk c : r.getWalList()) {
            assertEquals(0, c.getStartLsn() % 8192, k + ": a chunk starts on a WAL page boundary");
            byte[] expected = new byte[c.getData().size()];
            for (int off = 0; off < expected.length; ) { // a chunk may run on into the next segment file
                long lsn = c.getStartLsn() + off;
                long seg = lsn / WAL_SEGMENT;
                Path file = pgWal.resolve(Lsn.segmentFileName(1, seg, (int) WAL_SEGMENT));
                int n = (int) Math.min(expected.length - off, WAL_SEGMENT - lsn % WAL_SEGMENT);
                try (var ch = java.nio.channels.FileChannel.open(file)) {
                    ch.read(java.nio.ByteBuffer.wrap(expected, off, n), lsn % WAL_SEGMENT);
                }
                off += n;
            }
            assertArrayEquals(expected, c.getData().toByteArray(), k + ": WAL at " + fmt(c.getStartLsn()) + " vs pg_wal");
            pages += (c.getData().size() + 8191) / 8192;
        }
        long sent = r.getWalList().stream().mapToLong(c -> c.getData().size()).sum();
        for (PageRecord rec : r.getRecordsList()) {
            long from = rec.getLsn();
            long to = Math.min(rec.getEndLsn(), end);
            boolean covered = r.getWalList().stream().anyMatch(c -> c.getStartLsn() <= from
                    && c.getStartLsn() + c.getData().size() >= to);
            // What does not ride along (past the service's 4 MB budget) is read with ReadWal.
            assertTrue(covered || sent >= (4L << 20) - 8192, k + ": the record at " + fmt(from)
                    + " lies within the WAL sent with it (" + sent + " bytes sent)");
        }
        return pages;
    }

    private static final long WAL_SEGMENT = 16L << 20;

    /** The relfilenodes of pgbench's tables. */
    record Rels(int branches, int tellers, int accounts, int accountsPkey) {
        static Rels of(PrimaryWithWalService p) throws Exception {
            return new Rels(node(p, "pgbench_branches"), node(p, "pgbench_tellers"), node(p, "pgbench_accounts"),
                    node(p, "pgbench_accounts_pkey"));
        }

        private static int node(PrimaryWithWalService p, String rel) throws Exception {
            return (int) p.pg.queryLong("SELECT pg_relation_filenode('" + rel + "')");
        }
    }

    /**
     * An LSN where WAL is at a record boundary and flushed on the primary: the insert position once
     * the flush position has caught up with it (pg_waldump reads pg_wal files, so it sees only written WAL).
     */
    static long quiescentEnd(PrimaryWithWalService p) throws Exception {
        long end = p.lsn("pg_current_wal_insert_lsn()");
        await("the primary to flush up to " + fmt(end), 30, () -> {
            try {
                return p.lsn("pg_current_wal_flush_lsn()") >= end;
            } catch (java.sql.SQLException e) {
                throw new RuntimeException(e);
            }
        });
        return end;
    }

    /** page-history lines without the end LSN column and the INIT flag (pg_waldump 15 prints neither). */
    static List<String> withoutEndAndInit(String out) {
        return out.lines().map(l -> {
            String[] f = l.split(" ");
            return String.join(" ", Arrays.stream(f).skip(0).filter(x -> !x.equals("INIT")).toList()).replaceFirst(" \\S+", "");
        }).toList();
    }

    static List<String> concat(List<String> a, String... b) {
        return java.util.stream.Stream.concat(a.stream(), Arrays.stream(b)).toList();
    }
}
