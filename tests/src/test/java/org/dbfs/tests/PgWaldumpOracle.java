package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.walservice.PageRecordsRequests;
import org.dbfs.protocol.walservice.v1.PageRecord;

/**
 * pg_waldump as the oracle for the per-page index: runs it over the primary's pg_wal and turns
 * its PostgreSQL 15 lines ({@code ..., lsn: X/Y, prev ..., desc: TYPE ..., blkref #N: rel S/D/R
 * [fork F] blk B [FPW | FPW for WAL verification]}) into, per page, the records that touch it.
 */
final class PgWaldumpOracle {
    static final Path WALDUMP = PostgresCluster.BIN.resolve("pg_waldump");
    private static final Pattern LINE = Pattern.compile("^rmgr: (\\S+) .*?, lsn: ([0-9A-F]+/[0-9A-F]+), prev [0-9A-F/]+, desc: (\\S+)");
    private static final Pattern BLKREF = Pattern.compile(
            "blkref #\\d+: rel (\\d+)/(\\d+)/(\\d+)(?: fork (\\w+))? blk (\\d+)( FPW for WAL verification| FPW)?");

    /** A record touching a page, as pg_waldump shows it. */
    record Touch(long lsn, String type, boolean fpw) {}

    final Map<BufferTag, Map<Long, Touch>> pages = new TreeMap<>(PgWaldumpOracle::comparePages);
    final int records;

    private PgWaldumpOracle(List<String> lines) {
        int n = 0;
        for (String line : lines) {
            Matcher m = LINE.matcher(line);
            if (!m.find()) {
                continue;
            }
            n++;
            long lsn = Lsn.parse(m.group(2));
            String type = m.group(1) + "/" + m.group(3);
            Matcher b = BLKREF.matcher(line);
            while (b.find()) {
                RelTag rel = new RelTag(Integer.parseUnsignedInt(b.group(1)), Integer.parseUnsignedInt(b.group(2)),
                        Integer.parseUnsignedInt(b.group(3)), forkNum(b.group(4)));
                BufferTag key = new BufferTag(rel, Integer.parseUnsignedInt(b.group(5)));
                boolean fpw = " FPW".equals(b.group(6));
                // a record naming the same page twice is one index entry
                pages.computeIfAbsent(key, k -> new LinkedHashMap<>())
                        .merge(lsn, new Touch(lsn, type, fpw), (a, c) -> new Touch(lsn, type, a.fpw() || c.fpw()));
            }
        }
        records = n;
    }

    private static int comparePages(BufferTag a, BufferTag b) {
        int c = Integer.compareUnsigned(a.rel().spcNode(), b.rel().spcNode());
        c = c != 0 ? c : Integer.compareUnsigned(a.rel().dbNode(), b.rel().dbNode());
        c = c != 0 ? c : Integer.compareUnsigned(a.rel().relNode(), b.rel().relNode());
        c = c != 0 ? c : Integer.compare(a.rel().forkNum(), b.rel().forkNum());
        return c != 0 ? c : Integer.compareUnsigned(a.blockNum(), b.blockNum());
    }

    static int forkNum(String name) {
        return name == null ? 0 : switch (name) {
            case "fsm" -> 1;
            case "vm" -> 2;
            case "init" -> 3;
            default -> throw new IllegalArgumentException("fork " + name);
        };
    }

    /** pg_waldump -p pgWal -s start -e end, parsed. */
    static PgWaldumpOracle dump(Path pgWal, long start, long end, Path tmp) throws IOException, InterruptedException {
        return new PgWaldumpOracle(run(tmp, "-p", pgWal.toString(), "-s", Lsn.format(start), "-e", Lsn.format(end)));
    }

    static List<String> run(Path tmp, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(WALDUMP.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "waldump", ".out");
        Path err = Files.createTempFile(tmp, "waldump", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("pg_waldump timed out: " + cmd);
        }
        assertEquals(0, p.exitValue(), () -> "pg_waldump " + cmd + ": " + WalDecodeTest.readQuietly(err));
        return Files.readAllLines(out);
    }

    /**
     * The pages to check: every block of {@code everyBlockOf}, the first, second, middle and last
     * blocks of {@code someBlocksOf} (each fork pg_waldump saw for them).
     */
    List<BufferTag> pick(List<Integer> everyBlockOf, List<Integer> someBlocksOf) {
        List<BufferTag> out = new ArrayList<>();
        for (BufferTag k : pages.keySet()) {
            if (everyBlockOf.contains(k.rel().relNode())) {
                out.add(k);
            }
        }
        for (int rel : someBlocksOf) {
            for (int fork = 0; fork <= ForkNumber.MAX_FORKNUM; fork++) {
                int f = fork;
                List<BufferTag> blocks = pages.keySet().stream()
                        .filter(k -> k.rel().relNode() == rel && k.rel().forkNum() == f).toList();
                if (blocks.isEmpty()) {
                    continue;
                }
                for (int i : new int[] {0, 1, blocks.size() / 2, blocks.size() - 1}) {
                    if (i < blocks.size() && !out.contains(blocks.get(i))) {
                        out.add(blocks.get(i));
                    }
                }
            }
        }
        return out;
    }

    /**
     * For each page: GetPageRecords over [0, end), restricted to records that end by {@code end}
     * (pg_waldump -e shows only those), equals pg_waldump's list: the same LSNs in the same order
     * (a duplicate or a missed record breaks it) with the same FPW flags. Returns the entries compared.
     */
    int assertIndexEquals(WalServiceProcess svc, List<BufferTag> keys, long end) {
        int compared = 0;
        for (BufferTag k : keys) {
            List<PageRecord> got = svc.client().getPageRecords(PageRecordsRequests.forPage(k).setToLsn(end).build()).getRecordsList().stream().filter(r -> Long.compareUnsigned(r.getEndLsn(), end) <= 0)
                    .filter(r -> !r.getVmClear()).toList(); // pg_waldump lists block references only
            List<String> mine = got.stream().map(r -> Lsn.format(r.getLsn()) + (r.getHasApplyImage() ? " FPW" : "")).toList();
            List<String> theirs = pages.getOrDefault(k, Map.of()).values().stream()
                    .map(t -> Lsn.format(t.lsn()) + (t.fpw() ? " FPW" : "")).toList();
            assertEquals(theirs, mine, "records touching " + k + " below " + Lsn.format(end) + ": pg_waldump vs index");
            compared += mine.size();
        }
        assertTrue(compared > 0, "compared some records");
        return compared;
    }
}
