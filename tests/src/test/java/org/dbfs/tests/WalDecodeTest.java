package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.dbfs.pageserver.redocheck.SegmentDirectorySource;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.wal.BlockImages;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.pgformat.wal.WalStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The WAL decoder against the real thing: one PostgreSQL 15 cluster writes WAL (pgbench, a record
 * spanning pages, one spanning a segment boundary, XLOG_SWITCH, full-page images compressed with
 * pglz, lz4 and zstd, wal_consistency_checking images), and every range is decoded from the segment
 * files and compared with what pg_waldump prints for the same range.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WalDecodeTest {
    static final int SEG = 16 << 20;
    static final Path WALDUMP = PostgresCluster.BIN.resolve("pg_waldump");
    static final List<String> METHODS = List.of("pglz", "lz4", "zstd");

    record Range(long start, long end) {
    }

    Path tmp;
    Path wal;
    PostgresCluster pg;
    final Map<String, Range> ranges = new LinkedHashMap<>();
    /** Per compression method: the probe table's pages (pageinspect) right after its update. */
    final Map<String, Map<Long, byte[]>> probePages = new HashMap<>();
    final Map<String, Long> probeRelNodes = new HashMap<>();
    long bigMessageEnd;
    long crossingMessageEnd;

    @BeforeAll
    void writeWal(@TempDir Path dir) throws Exception {
        tmp = dir;
        PostgresCluster.makeTraversableForPostgres(tmp);
        Path work = tmp.resolve("pg");
        Path conf = tmp.resolve("wal-test.conf");
        // No background writers of WAL we do not control; keep every segment for the comparison.
        Files.writeString(conf, """
                autovacuum = off
                checkpoint_timeout = 1h
                max_wal_size = 4GB
                wal_keep_size = 4GB
                full_page_writes = on
                """);
        pg = PostgresCluster.initdb(work.resolve("data"), work, List.of(conf));
        pg.start();
        exec("CREATE EXTENSION pageinspect");

        long s = insertLsn();
        pg.pgbench(work, "-i", "-s", "2", "-q");
        pg.pgbench(work, "-c", "2", "-j", "2", "-T", "5");
        ranges.put("pgbench", new Range(s, insertLsn()));

        s = insertLsn();
        bigMessageEnd = Lsn.parse(queryText("SELECT pg_logical_emit_message(false, 'x', repeat('a', 100000))::text"));
        long here = insertLsn();
        int toBoundary = (int) (SEG - here % SEG);
        crossingMessageEnd = Lsn.parse(queryText("SELECT pg_logical_emit_message(false, 'y', repeat('b', "
                + (toBoundary + 20000) + "))::text"));
        queryText("SELECT pg_switch_wal()::text");
        queryText("SELECT pg_logical_emit_message(false, 'z', 'after the switch')::text");
        ranges.put("messages", new Range(s, insertLsn()));

        for (String method : METHODS) {
            // A fresh, frozen table per method: its pages' first change is a HOT update whose image is the whole story.
            String probe = "fpi_probe_" + method;
            exec("CREATE TABLE " + probe + " (id int, v int, pad text) WITH (fillfactor = 50)",
                    "INSERT INTO " + probe + " SELECT g, 0, repeat('x', 40) FROM generate_series(1, 20000) g",
                    "VACUUM FREEZE " + probe);
            probeRelNodes.put(method, Long.parseLong(queryText("SELECT pg_relation_filenode('" + probe + "')::text")));
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("SET wal_compression = '" + method + "'");
                assertEquals(method, text(st, "SHOW wal_compression"), "this PostgreSQL build supports " + method);
                st.execute("CHECKPOINT"); // the next change of every page takes a full-page image
                long start = insertLsn();
                st.execute("UPDATE " + probe + " SET v = v + 1 WHERE id % 97 = 0");
                st.execute("SET wal_consistency_checking = 'all'"); // images without APPLY, with holes
                st.execute("UPDATE pgbench_branches SET bbalance = bbalance + 1");
                st.execute("UPDATE pgbench_tellers SET tbalance = tbalance + 1");
                st.execute("RESET wal_consistency_checking");
                ranges.put(method, new Range(start, insertLsn()));
                Map<Long, byte[]> pages = new HashMap<>();
                try (ResultSet rs = st.executeQuery("SELECT b, get_raw_page('" + probe + "', b::int) FROM "
                        + "generate_series(0, pg_relation_size('" + probe + "') / 8192 - 1) b")) {
                    while (rs.next()) {
                        pages.put(rs.getLong(1), rs.getBytes(2));
                    }
                }
                probePages.put(method, pages);
            }
        }
        pg.stop();
        wal = tmp.resolve("wal");
        Files.createDirectories(wal);
        try (Stream<Path> files = Files.list(work.resolve("data").resolve("pg_wal"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).toList()) {
                Files.copy(f, wal.resolve(f.getFileName()));
            }
        }
    }

    @AfterAll
    void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void everyRecordMatchesPgWaldump() throws Exception {
        for (var e : ranges.entrySet()) {
            Range r = e.getValue();
            List<DecodedRecord> mine = decode(wal, r);
            List<String> theirs = waldump("-p", wal.toString(), "-s", Lsn.format(r.start), "-e", Lsn.format(r.end));
            assertEquals(theirs.size(), mine.size(), e.getKey() + ": record count");
            assertTrue(mine.size() >= 4, e.getKey() + ": a range with records, " + mine.size());
            for (int i = 0; i < mine.size(); i++) {
                assertRecordLine(theirs.get(i), mine.get(i));
            }
            System.out.printf("%s: %d records equal pg_waldump's lines%n", e.getKey(), mine.size());
        }
    }

    @Test
    void statsPerRecordAreByteIdenticalToPgWaldump() throws Exception {
        for (var e : ranges.entrySet()) {
            Range r = e.getValue();
            WalStats stats = new WalStats();
            decode(wal, r).forEach(stats::add);
            String theirs = String.join("\n", waldump("--stats=record", "-p", wal.toString(),
                    "-s", Lsn.format(r.start), "-e", Lsn.format(r.end))) + "\n";
            assertEquals(theirs, stats.formatPerRecord(), e.getKey());
        }
    }

    @Test
    void recordsSpanPagesAndSegmentsAndSwitchSkipsTheSegmentTail() throws Exception {
        List<DecodedRecord> recs = decode(wal, ranges.get("messages"));
        DecodedRecord big = find(recs, bigMessageEnd);
        assertEquals("LogicalMessage", big.rmgrName());
        assertEquals("MESSAGE", big.recordTypeName());
        assertTrue(big.totalLength() > 100_000 && big.endLsn() - big.lsn() > 12 * 8192, "spans many pages: " + big);
        DecodedRecord crossing = find(recs, crossingMessageEnd);
        assertNotEquals(Lsn.segmentNumber(crossing.lsn(), SEG), Lsn.segmentNumber(crossing.endLsn() - 1, SEG),
                "crosses a segment boundary: " + crossing);
        int sw = indexOf(recs, "XLOG", "SWITCH");
        DecodedRecord switchRec = recs.get(sw);
        assertEquals(0, Lsn.segmentOffset(switchRec.endLsn(), SEG), "XLOG_SWITCH ends at a segment start");
        assertEquals(switchRec.endLsn() + 40, recs.get(sw + 1).lsn(), "next record right after the long page header");
        assertEquals(switchRec.lsn(), recs.get(sw + 1).prev());
    }

    @Test
    void decodingIncrementallyAsBytesArriveGivesTheSameRecords() throws Exception {
        Range r = ranges.get("messages");
        List<DecodedRecord> whole = decode(wal, r);
        SegmentDirectorySource dir = new SegmentDirectorySource(wal, 1, SEG, r.end);
        long[] available = {r.start};
        WalSource growing = (lsn, dst, off, len) -> {
            long n = Math.min(len, available[0] - lsn);
            return n <= 0 ? 0 : dir.read(lsn, dst, off, (int) n);
        };
        WalReader reader = WalReader.atRecord(growing, r.start, SEG, 0);
        Random random = new Random(42);
        List<DecodedRecord> streamed = new ArrayList<>();
        int waits = 0;
        while (available[0] < r.end) {
            WalReadResult res = reader.next();
            if (res instanceof DecodedRecord rec) {
                streamed.add(rec.copy());
            } else {
                WalEnd end = (WalEnd) res;
                assertEquals(WalEnd.Reason.NEED_MORE_BYTES, end.reason(), end.toString());
                assertEquals(reader.position(), end.lsn());
                available[0] = Math.min(r.end, available[0] + 1 + random.nextInt(30_000));
                waits++;
            }
        }
        for (WalReadResult res = reader.next(); res instanceof DecodedRecord rec; res = reader.next()) {
            streamed.add(rec.copy());
        }
        assertTrue(waits > 100, "fed in many small pieces: " + waits);
        assertEquals(whole.size(), streamed.size());
        for (int i = 0; i < whole.size(); i++) {
            assertEquals(whole.get(i).lsn(), streamed.get(i).lsn());
            assertEquals(whole.get(i).endLsn(), streamed.get(i).endLsn());
            assertArrayEquals(whole.get(i).recordBytes(), streamed.get(i).recordBytes());
        }
    }

    @Test
    void compressedImagesRestoreAndMatchPageinspect() throws Exception {
        for (String method : METHODS) {
            List<DecodedRecord> recs = decode(wal, ranges.get(method));
            int compressed = 0;
            int verificationImages = 0;
            int holes = 0;
            Map<Long, DecodedRecord> lastTouch = new HashMap<>();
            Map<Long, byte[]> probeImages = new HashMap<>();
            for (DecodedRecord rec : recs) {
                for (int id = 0; id <= rec.maxBlockId(); id++) {
                    if (!rec.hasBlockRef(id)) {
                        continue;
                    }
                    boolean probe = rec.relNode(id) == probeRelNodes.get(method) && rec.forkNum(id) == 0;
                    if (probe) {
                        lastTouch.put(rec.blockNumber(id), rec);
                        probeImages.remove(rec.blockNumber(id));
                    }
                    if (!rec.hasImage(id)) {
                        continue;
                    }
                    byte[] page = BlockImages.restoreBlockImage(rec, id);
                    assertSanePage(page, rec);
                    compressed += method.equals(rec.imageCompressionMethod(id)) ? 1 : 0;
                    verificationImages += rec.imageApply(id) ? 0 : 1;
                    holes += rec.holeLength(id) > 0 ? 1 : 0;
                    if (probe && rec.imageApply(id)) {
                        probeImages.put(rec.blockNumber(id), page);
                    }
                }
            }
            assertTrue(compressed > 100, method + ": compressed images " + compressed);
            assertTrue(verificationImages > 0, method + ": wal_consistency_checking images " + verificationImages);
            assertTrue(holes > 0, method + ": images with a hole " + holes);
            // A block whose last change in WAL is the one with its image holds that image, with pd_lsn = EndRecPtr.
            int compared = 0;
            for (var e : probeImages.entrySet()) {
                byte[] page = e.getValue();
                PageHeader.PageSetLSN(page, 0, lastTouch.get(e.getKey()).endLsn());
                assertArrayEquals(probePages.get(method).get(e.getKey()), page, method + " block " + e.getKey());
                compared++;
            }
            assertTrue(compared > 50, method + ": pages compared with pageinspect " + compared);
            System.out.printf("%s: %d records, %d compressed images, %d verification images, %d with hole, %d pages equal pageinspect%n",
                    method, recs.size(), compressed, verificationImages, holes, compared);
        }
    }

    @Test
    void aFlippedByteIsACrcErrorAtThatRecord() throws Exception {
        List<DecodedRecord> recs = decode(wal, ranges.get("pgbench"));
        DecodedRecord victim = recs.stream()
                .filter(r -> r.totalLength() > 100 && r.lsn() / 8192 == (r.lsn() + r.totalLength()) / 8192
                        && Lsn.segmentOffset(r.lsn(), SEG) > 8 * 8192)
                .skip(200).findFirst().orElseThrow();
        Path dir = copySegmentOf(victim.lsn(), "crc");
        Path seg = dir.resolve(segmentName(victim.lsn()));
        int at = Lsn.segmentOffset(victim.lsn(), SEG) + 60;
        byte[] bytes = Files.readAllBytes(seg);
        bytes[at] ^= 0x10;
        Files.write(seg, bytes);

        long segStart = victim.lsn() - Lsn.segmentOffset(victim.lsn(), SEG);
        List<DecodedRecord> read = new ArrayList<>();
        WalEnd end = readAll(WalReader.findFirstRecord(new SegmentDirectorySource(dir, 1, SEG, 0), segStart, SEG, 0), read);
        assertEquals(WalEnd.Reason.CRC_MISMATCH, end.reason(), end.toString());
        assertEquals(victim.lsn(), end.lsn());
        assertEquals(victim.lsn(), read.getLast().endLsn());
        assertPrefixOf(recs, read);
    }

    @Test
    void aTruncatedSegmentEndsAtTheLastCompleteRecord() throws Exception {
        List<DecodedRecord> recs = decode(wal, ranges.get("pgbench"));
        DecodedRecord cut = recs.stream()
                .filter(r -> Lsn.segmentOffset(r.lsn(), SEG) > 8 * 8192 && r.totalLength() > 50)
                .skip(300).findFirst().orElseThrow();
        Path dir = copySegmentOf(cut.lsn(), "truncated");
        try (FileChannel ch = FileChannel.open(dir.resolve(segmentName(cut.lsn())), StandardOpenOption.WRITE)) {
            ch.truncate(Lsn.segmentOffset(cut.lsn(), SEG) + 30); // mid-record
        }
        long segStart = cut.lsn() - Lsn.segmentOffset(cut.lsn(), SEG);
        List<DecodedRecord> read = new ArrayList<>();
        WalEnd end = readAll(WalReader.findFirstRecord(new SegmentDirectorySource(dir, 1, SEG, 0), segStart, SEG, 0), read);
        assertEquals(WalEnd.Reason.NEED_MORE_BYTES, end.reason(), end.toString());
        assertEquals(cut.lsn(), end.lsn(), "end of valid WAL at the last complete record's end");
        assertEquals(cut.lsn(), read.getLast().endLsn());
        assertPrefixOf(recs, read);
    }

    // ---- helpers

    static void assertRecordLine(String line, DecodedRecord rec) {
        int fpi = rec.fpiLength();
        String prefix = String.format("rmgr: %-11s len (rec/tot): %6d/%6d, tx: %10d, lsn: %s, prev %s, desc: %s ",
                rec.rmgrName(), rec.totalLength() - fpi, rec.totalLength(), rec.xid(), Lsn.formatPadded(rec.lsn()),
                Lsn.formatPadded(rec.prev()), rec.recordTypeName());
        assertTrue(line.startsWith(prefix), "pg_waldump: " + line + "\nours:      " + prefix);
        StringBuilder refs = new StringBuilder();
        int n = 0;
        for (int id = 0; id <= rec.maxBlockId(); id++) {
            if (!rec.hasBlockRef(id)) {
                continue;
            }
            n++;
            refs.append(", blkref #").append(id).append(": rel ").append(rec.spcNode(id)).append('/')
                    .append(rec.dbNode(id)).append('/').append(rec.relNode(id));
            if (rec.forkNum(id) != 0) {
                refs.append(" fork ").append(rec.fork(id).forkName());
            }
            refs.append(" blk ").append(rec.blockNumber(id));
            if (rec.hasImage(id)) {
                refs.append(rec.imageApply(id) ? " FPW" : " FPW for WAL verification");
            }
        }
        assertTrue(line.endsWith(refs.toString()), "pg_waldump: " + line + "\nour refs:  " + refs);
        assertEquals(n, line.split(", blkref #", -1).length - 1, line);
    }

    static void assertSanePage(byte[] page, DecodedRecord rec) {
        int lower = (page[12] & 0xFF) | (page[13] & 0xFF) << 8;
        int upper = (page[14] & 0xFF) | (page[15] & 0xFF) << 8;
        int special = (page[16] & 0xFF) | (page[17] & 0xFF) << 8;
        if (upper == 0) {
            return; // a new (all-zero) page or a non-standard one such as a VM page
        }
        assertTrue(24 <= lower && lower <= upper && upper <= special && special <= 8192,
                "page header of the image at " + rec + ": lower=" + lower + " upper=" + upper + " special=" + special);
        assertTrue(Long.compareUnsigned(PageHeader.PageGetLSN(page, 0), rec.lsn()) <= 0, "image pd_lsn "
                + Lsn.format(PageHeader.PageGetLSN(page, 0)) + " not after " + rec + " " + describeImages(rec));
    }

    /** Every record read from where the reference starts on is the reference's record, in order, none made up. */
    static String describeImages(DecodedRecord rec) {
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id <= rec.maxBlockId(); id++) {
            if (rec.hasBlockRef(id) && rec.hasImage(id)) {
                sb.append(" #").append(id).append(" blk ").append(rec.blockNumber(id)).append(" len ")
                        .append(rec.imageLength(id)).append(" hole ").append(rec.holeOffset(id)).append('+')
                        .append(rec.holeLength(id)).append(" info ").append(Integer.toHexString(rec.bimgInfo(id)));
            }
        }
        return sb.toString();
    }

    static void assertPrefixOf(List<DecodedRecord> reference, List<DecodedRecord> read) {
        List<DecodedRecord> overlap = read.stream()
                .filter(r -> Long.compareUnsigned(r.lsn(), reference.getFirst().lsn()) >= 0).toList();
        assertTrue(overlap.size() > 100, "overlap " + overlap.size());
        int start = indexOfLsn(reference, overlap.getFirst().lsn());
        for (int i = 0; i < overlap.size(); i++) {
            assertArrayEquals(reference.get(start + i).recordBytes(), overlap.get(i).recordBytes(), "record " + i);
        }
    }

    static int indexOfLsn(List<DecodedRecord> recs, long lsn) {
        for (int i = 0; i < recs.size(); i++) {
            if (recs.get(i).lsn() == lsn) {
                return i;
            }
        }
        throw new AssertionError("no record at " + Lsn.format(lsn));
    }

    static DecodedRecord find(List<DecodedRecord> recs, long endLsn) {
        return recs.stream().filter(r -> r.endLsn() == endLsn).findFirst()
                .orElseThrow(() -> new AssertionError("no record ending at " + Lsn.format(endLsn)));
    }

    static int indexOf(List<DecodedRecord> recs, String rmgr, String type) {
        for (int i = 0; i < recs.size(); i++) {
            if (recs.get(i).rmgrName().equals(rmgr) && recs.get(i).recordTypeName().equals(type)) {
                return i;
            }
        }
        throw new AssertionError("no " + rmgr + "/" + type);
    }

    static WalEnd readAll(WalReader reader, List<DecodedRecord> into) {
        while (true) {
            WalReadResult r = reader.next();
            if (r instanceof WalEnd end) {
                return end;
            }
            into.add(((DecodedRecord) r).copy());
        }
    }

    /** Decodes [start, end) the way pg_waldump -s start -e end does. */
    static List<DecodedRecord> decode(Path dir, Range r) {
        WalReader reader = WalReader.findFirstRecord(new SegmentDirectorySource(dir, 1, SEG, r.end), r.start, SEG, 0);
        List<DecodedRecord> out = new ArrayList<>();
        WalEnd end = readAll(reader, out);
        assertInstanceOf(WalEnd.class, end);
        assertEquals(WalEnd.Reason.NEED_MORE_BYTES, end.reason(), "a range of valid WAL ends where the bytes end: " + end);
        return out;
    }

    Path copySegmentOf(long lsn, String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(wal.resolve(segmentName(lsn)), dir.resolve(segmentName(lsn)));
        return dir;
    }

    static String segmentName(long lsn) {
        return Lsn.segmentFileName(1, Lsn.segmentNumber(lsn, SEG), SEG);
    }

    List<String> waldump(String... args) throws IOException, InterruptedException {
        return PgWaldumpOracle.run(tmp, args);
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    long insertLsn() throws SQLException {
        return Lsn.parse(queryText("SELECT pg_current_wal_insert_lsn()::text"));
    }

    String queryText(String sql) throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            return text(st, sql);
        }
    }

    static String text(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    void exec(String... sql) throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

}
