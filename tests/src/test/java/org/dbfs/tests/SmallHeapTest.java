package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page server in a 256 MB heap under a database several times that size: pgbench -i -s 100
 * (1.5 GB of relations, a parallel primary-key build spilling sorts to temporary files) and a TPC-B
 * run complete, and the page server is still up. It would run out of heap if unpacked writes, the
 * frame cache or the requests in flight were not bounded by the heap (scripts/bench-memory is the
 * same by hand).
 */
class SmallHeapTest {
    @TempDir
    Path tmp;

    @Test
    void pgbenchAtScale100CompletesWithA256MbPageServerHeap() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.usePageServerJvmArgs(List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"));
            stack.startPageServer();
            stack.mount();
            Path work = tmp.resolve("pg");
            try (PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work,
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF))) {
                pg.start();
                pg.pgbench(work, "-i", "-s", "100", "-q");
                String run = pg.pgbench(work, "-c", "4", "-j", "2", "-T", "15");
                assertTrue(run.contains("number of failed transactions: 0"), run);
                PostgresOnDbfsTest.assertInvariant(pg);
                assertTrue(stack.pageServer().isAlive(), "the page server is still up:\n" + stack.pageServer().stderr());
                assertTrue(!stack.pageServer().stderr().contains("OutOfMemoryError"), stack.pageServer().stderr());
            }
        }
    }
}
