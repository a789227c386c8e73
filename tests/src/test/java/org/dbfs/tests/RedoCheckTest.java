package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Stream;

import org.dbfs.pageserver.redocheck.RedoCheck;
import org.dbfs.pageserver.redocheck.RedoCheckCommand;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.redo.BlockAction;
import org.dbfs.pgformat.redo.RedoEngine;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native redo engine against PostgreSQL 15 itself: a cluster runs with
 * {@code wal_consistency_checking = all}, so every heap, heap2, btree and sequence block reference
 * carries the page as PostgreSQL had it right after the record. {@link RedoCheck} redoes each record
 * natively from the block's previous image and compares after PostgreSQL's masks.
 */
class RedoCheckTest {
    static final String CONF = """
            wal_consistency_checking = 'all'
            full_page_writes = on
            wal_compression = zstd
            autovacuum = off
            checkpoint_timeout = 1h
            max_wal_size = 8GB
            wal_keep_size = 8GB
            """;

    /** pgbench -i -s 1 plus a short run: nothing mismatches or is unsupported, and thousands of blocks verify. */
    @Test
    void pgbenchWalRedoesExactly(@TempDir Path tmp) throws Exception {
        Path wal = runCluster(tmp, (pg, work) -> {
            pg.pgbench(work, "-i", "-s", "1", "-q");
            pg.pgbench(work, "-c", "2", "-j", "2", "-T", "5");
        });
        RedoCheck check = RedoCheck.run(wal);
        String report = report(check);
        System.out.println(report);
        assertEquals(0, check.mismatched(), report);
        assertEquals(0, check.unsupported(), report);
        assertTrue(check.verified() > 5000, report);

        // The same through the CLI: exit 0 and the summary as the last line.
        StringWriter cliOut = new StringWriter();
        CommandLine cli = new CommandLine(new RedoCheckCommand());
        cli.setOut(new PrintWriter(cliOut));
        assertEquals(0, cli.execute("--wal-dir", wal.toString()), cliOut.toString());
        String[] lines = cliOut.toString().strip().split("\n");
        assertEquals("verified=" + check.verified() + " mismatched=0 unsupported=0", lines[lines.length - 1]);

        // The check can fail: a redo that gets one byte of HOT updates wrong is caught, with LSN, type,
        // block and the first differing offset.
        RedoEngine real = new RedoEngine();
        RedoCheck broken = RedoCheck.run(wal, (rec, id, page) -> {
            BlockAction a = real.apply(rec, id, page);
            if (a == BlockAction.REDONE && rec.recordTypeName().equals("HOT_UPDATE")) {
                page[Page.upper(page) + 30] ^= 1; // a data byte of the new tuple
            }
            return a;
        });
        assertEquals(broken.byType().get("Heap/HOT_UPDATE").verified + broken.byType().get("Heap/HOT_UPDATE").mismatched,
                check.byType().get("Heap/HOT_UPDATE").verified, report(broken));
        assertTrue(broken.byType().get("Heap/HOT_UPDATE").mismatched > 100, report(broken));
        assertEquals(0, broken.mismatched() - broken.byType().get("Heap/HOT_UPDATE").mismatched, report(broken));
        String first = broken.mismatches().get(0).toString();
        assertTrue(first.matches("MISMATCH at [0-9A-F]+/[0-9A-F]+ Heap/HOT_UPDATE block 0 \\(.*\\) first differing offset \\d+"),
                first);
        for (String type : List.of("Heap/HOT_UPDATE", "Heap/INSERT", "Heap2/MULTI_INSERT+INIT", "Heap2/VISIBLE",
                "Btree/INSERT_LEAF")) {
            assertTrue(check.byType().containsKey(type) && check.byType().get(type).verified > 0,
                    type + " verified\n" + report);
        }
    }

    /**
     * Tables with and without indexes, TOAST, HOT and non-HOT updates, row locks, deletes, VACUUM
     * (FREEZE), TRUNCATE, a sequence, ON CONFLICT, a cross-partition UPDATE, a hash index, posting-list splits, and a 200k-row b-tree that splits to two internal
     * levels and then loses most of its pages to VACUUM: no mismatch; only the hash index's records are
     * unsupported, each named.
     */
    @Test
    void broadWorkloadRedoesExactly(@TempDir Path tmp) throws Exception {
        Path wal = runCluster(tmp, (pg, work) -> {
            try (Connection c = pg.connect(); Statement st = c.createStatement();
                    Connection c2 = pg.connect(); Statement st2 = c2.createStatement()) {
                for (String sql : List.of(
                        "CREATE TABLE plain (id int, v text)",
                        "INSERT INTO plain SELECT g, repeat('p', g % 50) FROM generate_series(1, 5000) g",
                        "UPDATE plain SET v = v || 'x' WHERE id % 7 = 0",
                        "DELETE FROM plain WHERE id % 11 = 0",
                        "CREATE TABLE t (id int PRIMARY KEY, k int, v text, big text) WITH (fillfactor = 70)",
                        "CREATE INDEX t_k ON t (k)",
                        "INSERT INTO t SELECT g, g % 100, md5(g::text), NULL FROM generate_series(1, 20000) g",
                        "UPDATE t SET big = (SELECT string_agg(md5(random()::text || i), '') FROM generate_series(1, 200) i)"
                                + " WHERE id % 1000 = 0",
                        "UPDATE t SET v = 'hot' || id WHERE id % 10 = 1",
                        "UPDATE t SET k = k + 1 WHERE id % 10 = 2",
                        "INSERT INTO t VALUES (20001, 1, 'a', NULL) ON CONFLICT (id) DO NOTHING",
                        "INSERT INTO t VALUES (20001, 1, 'a', NULL) ON CONFLICT (id) DO UPDATE SET v = 'conflict'",
                        "BEGIN", "SELECT * FROM t WHERE id < 200 FOR UPDATE", "COMMIT",
                        "BEGIN", "SELECT * FROM t WHERE id BETWEEN 200 AND 400 FOR SHARE")) {
                    st.execute(sql);
                }
                st2.execute("BEGIN");
                st2.execute("SELECT * FROM t WHERE id BETWEEN 300 AND 500 FOR KEY SHARE"); // multixacts
                st2.execute("COMMIT");
                st.execute("COMMIT");
                // KEY SHARE on a row another transaction is updating follows the update chain: LOCK_UPDATED.
                st.execute("BEGIN");
                st.execute("UPDATE t SET v = 'chain' WHERE id = 401");
                st2.execute("SELECT * FROM t WHERE id = 401 FOR KEY SHARE");
                st.execute("COMMIT");
                for (String sql : List.of(
                        "UPDATE t SET v = 'after lock' WHERE id BETWEEN 250 AND 350",
                        "DELETE FROM t WHERE id % 3 = 0",
                        // Non-HOT churn with unchanged primary keys: bottom-up deletion (Btree/DELETE).
                        "CREATE TABLE u (id int PRIMARY KEY, v int)",
                        "CREATE INDEX u_v ON u (v)",
                        "INSERT INTO u SELECT g, g FROM generate_series(1, 5000) g",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "UPDATE u SET v = v + 1 WHERE id <= 1000",
                        "VACUUM t",
                        "SET vacuum_freeze_min_age = 0",
                        "VACUUM FREEZE t",
                        "DELETE FROM t WHERE id % 5 = 0",
                        "VACUUM t",
                        // Non-HOT updates into the reserved space of half-full heap pages give TIDs inside
                        // the posting lists of full, deduplicated leaves: splits with postingoff != 0.
                        "CREATE TABLE e (id int, k int, pad text) WITH (fillfactor = 50)",
                        "CREATE INDEX e_k ON e (k)",
                        "INSERT INTO e SELECT g, g % 10, 'x' FROM generate_series(1, 50000) g",
                        "UPDATE e SET k = (k + 1) % 10 WHERE id % 7 = 0",
                        "CREATE SEQUENCE s",
                        // A cross-partition UPDATE: DELETE with XLH_DELETE_IS_PARTITION_MOVE.
                        "CREATE TABLE parted (id int, p int) PARTITION BY LIST (p)",
                        "CREATE TABLE parted1 PARTITION OF parted FOR VALUES IN (1)",
                        "CREATE TABLE parted2 PARTITION OF parted FOR VALUES IN (2)",
                        "INSERT INTO parted SELECT g, 1 FROM generate_series(1, 100) g",
                        "UPDATE parted SET p = 2 WHERE id <= 10",
                        // A hash index: outside the engine, reported as unsupported by name.
                        "CREATE TABLE h (id int)",
                        "CREATE INDEX h_hash ON h USING hash (id)",
                        "INSERT INTO h SELECT g FROM generate_series(1, 1000) g",
                        "SELECT nextval('s') FROM generate_series(1, 100)",
                        "TRUNCATE plain",
                        "INSERT INTO plain VALUES (1, 'after truncate')",
                        // The big b-tree: heap inserts and deletes unchecked (redone natively, then the base of later checks).
                        "CREATE TABLE big (id int PRIMARY KEY, pad int)",
                        "SET wal_consistency_checking = 'btree'",
                        "INSERT INTO big SELECT g, g FROM generate_series(1, 200000) g",
                        "DELETE FROM big WHERE id > 5000 AND id % 50 <> 0",
                        "RESET wal_consistency_checking",
                        "VACUUM big",
                        "DELETE FROM big WHERE id > 1000",
                        "VACUUM big",
                        "INSERT INTO big SELECT g, g FROM generate_series(300000, 310000) g",
                        "VACUUM big",
                        // Collapse every level to its rightmost page (the fast root moves down:
                        // UNLINK_PAGE_META), then split the only leaf again (INSERT_META).
                        "DELETE FROM big WHERE id < 309900",
                        "VACUUM big",
                        "INSERT INTO big SELECT g, g FROM generate_series(400000, 401000) g")) {
                    st.execute(sql);
                }
            }
        });
        RedoEngine engine = new RedoEngine();
        long[] postingSplits = {0};
        RedoCheck check = RedoCheck.run(wal, (rec, id, page) -> {
            if (rec.rmgrName().equals("Btree") && rec.recordTypeName().startsWith("SPLIT_") && id == 0
                    && PageBytes.u16(rec.buffer(), rec.mainDataOffset() + 8) != 0) {
                postingSplits[0]++;
            }
            return engine.apply(rec, id, page);
        });
        String report = report(check);
        System.out.println(report);
        assertEquals(0, check.mismatched(), report);
        assertTrue(postingSplits[0] > 0, "no split with postingoff was redone\n" + report);
        // Only the hash index is outside the engine, and it is reported per record type.
        assertTrue(!check.unsupportedTypes().isEmpty(), report);
        assertTrue(check.unsupportedTypes().stream().allMatch(t -> t.startsWith("Hash/")), report);
        assertTrue(check.verified() > 20000, report);
        for (String type : List.of("Heap/UPDATE", "Heap/DELETE", "Heap/LOCK", "Heap2/PRUNE", "Heap2/VACUUM",
                "Heap2/FREEZE_PAGE", "Btree/SPLIT_R", "Btree/NEWROOT", "Btree/INSERT_UPPER", "Btree/VACUUM",
                "Btree/MARK_PAGE_HALFDEAD", "Btree/UNLINK_PAGE", "Sequence/LOG", "Heap/CONFIRM", "Heap2/LOCK_UPDATED", "Btree/DELETE", "Btree/DEDUP",
                "Btree/INSERT_POST", "Btree/INSERT_META", "Btree/UNLINK_PAGE_META", "Btree/META_CLEANUP")) {
            assertTrue(check.byType().containsKey(type) && check.byType().get(type).verified > 0,
                    type + " verified\n" + report);
        }
    }

    /**
     * wal_log_hints = on: hint bits set after a checkpoint log XLOG/FPI_FOR_HINT (restored, never
     * unsupported) and HEAP2_VISIBLE may bump heap LSNs; redo still matches PostgreSQL.
     */
    @Test
    void walLogHintsClusterRedoesExactly(@TempDir Path tmp) throws Exception {
        Path wal = runCluster(tmp, "wal_log_hints = on\n", (pg, work) -> {
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                for (String sql : List.of(
                        "CREATE TABLE hints (id int PRIMARY KEY, v text)",
                        "INSERT INTO hints SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
                        "CHECKPOINT",
                        "SELECT count(*) FROM hints", // sets hint bits: FPI_FOR_HINT
                        "VACUUM hints",
                        "UPDATE hints SET v = 'u' WHERE id % 10 = 0",
                        "CHECKPOINT",
                        "SELECT count(*) FROM hints",
                        "VACUUM hints")) {
                    st.execute(sql);
                }
            }
        });
        RedoCheck check = RedoCheck.run(wal, new RedoEngine(true)::apply);
        String report = report(check);
        System.out.println(report);
        assertEquals(0, check.mismatched(), report);
        assertEquals(0, check.unsupported(), report);
        assertTrue(check.byType().get("XLOG/FPI_FOR_HINT").restored > 0, report);
        assertTrue(check.byType().get("Heap2/VISIBLE").verified > 0, report);
    }

    interface Workload {
        void run(PostgresCluster pg, Path work) throws Exception;
    }

    /** Runs {@code workload} on a fresh cluster, stops it, and returns a copy of its pg_wal. */
    static Path runCluster(Path tmp, Workload workload) throws Exception {
        return runCluster(tmp, "", workload);
    }

    /** {@link #runCluster(Path, Workload)} with extra postgresql.conf lines. */
    static Path runCluster(Path tmp, String extraConf, Workload workload) throws Exception {
        PostgresCluster.makeTraversableForPostgres(tmp);
        Path work = tmp.resolve("pg");
        Path conf = tmp.resolve("redo-check.conf");
        Files.writeString(conf, CONF + extraConf);
        try (PostgresCluster pg = PostgresCluster.initdb(work.resolve("data"), work, List.of(conf))) {
            pg.start();
            workload.run(pg, work);
            pg.stop();
        }
        Path wal = Files.createDirectories(tmp.resolve("wal"));
        try (Stream<Path> files = Files.list(work.resolve("data").resolve("pg_wal"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).toList()) {
                Files.copy(f, wal.resolve(f.getFileName()));
            }
        }
        return wal;
    }

    static String report(RedoCheck check) {
        StringWriter out = new StringWriter();
        check.print(new PrintWriter(out), 20);
        return out.toString();
    }
}
