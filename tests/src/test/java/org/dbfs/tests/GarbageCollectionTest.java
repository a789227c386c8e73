package org.dbfs.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgbench TPC-B with a short retention window: the bucket stays bounded (below 3x the data
 * directory), the invariant holds, reads inside the window still work and reads before the
 * horizon are refused, naming it. The run lasts {@code -Ddbfs.gc.seconds} (100 s in the suite;
 * docs/benchmarks.md has the 10-minute run).
 */
class GarbageCollectionTest {
    static final long RUN_SECONDS = Long.getLong("dbfs.gc.seconds", 100);
    static final int SCALE = Integer.getInteger("dbfs.gc.scale", 20);
    /** {@code -Ddbfs.gc.retention=24h} measures the same run without collection (docs/benchmarks.md). */
    static final String RETENTION = System.getProperty("dbfs.gc.retention", "60s");

    @TempDir
    Path tmp;

    /** The bytes of the files under {@code dir}; a file collection deletes during the walk counts as gone. */
    static long bytesUnder(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
                if (attrs.isRegularFile()) {
                    total[0] += attrs.size();
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof java.nio.file.NoSuchFileException) {
                    return java.nio.file.FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        return total[0];
    }

    static final Pattern DELETED = Pattern.compile("deleted (\\d+) objects");

    record Sample(long second, long bucketBytes, long dataBytes, long lsn) {}

    /** The objects the page server's collection passes deleted, by its log; {@code print}: the passes' lines too. */
    private static long deletedObjects(String log, boolean print) {
        long deleted = 0;
        for (String line : log.lines().filter(l -> l.contains("gc: horizon")).toList()) {
            if (print) {
                System.out.println(line.substring(line.indexOf("gc: horizon")));
            }
            Matcher m = DELETED.matcher(line);
            deleted += m.find() ? Long.parseLong(m.group(1)) : 0;
        }
        return deleted;
    }

    @Test
    void pgbenchWithAOneMinuteRetentionKeepsTheBucketBoundedAndRefusesReadsBeforeTheHorizon() throws Exception {
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--retention", RETENTION, "--gc-interval", "10s", "--gc-grace", "10s",
                    "--pack-interval-ms", "5000"));
            stack.mount();
            Path work = tmp.resolve("pg");
            Path bucket = stack.root().resolve("bucket");
            try (PostgresCluster pg = PostgresCluster.initdb(stack.dataDirectory(), work,
                    List.of(PostgresOnDbfsTest.PRIMARY_CONF))) {
                pg.start();
                pg.pgbench(work, "-i", "-s", Integer.toString(SCALE), "-q");
                long relNode = pg.queryLong("SELECT pg_relation_filenode('pgbench_accounts')");
                long dbOid = pg.queryLong("SELECT oid FROM pg_database WHERE datname = 'postgres'");
                AtomicReference<Exception> failed = new AtomicReference<>();
                Thread load = new Thread(() -> {
                    try {
                        pg.pgbench(work, "-c", "4", "-j", "2", "-T", Long.toString(RUN_SECONDS));
                    } catch (Exception e) {
                        failed.set(e);
                    }
                });
                long start = System.nanoTime();
                load.start();
                List<Sample> samples = new ArrayList<>();
                while (load.isAlive()) {
                    samples.add(sample(pg, bucket, stack.mountPoint(), start));
                    load.join(30_000); // a sample every 30 s while pgbench runs
                }
                assertEquals(null, failed.get());
                samples.add(sample(pg, bucket, stack.mountPoint(), start));
                for (Sample s : samples) {
                    System.out.printf("gc sample t=%4d s  bucket %,d bytes  data directory %,d bytes  ratio %.2f%n",
                            s.second(), s.bucketBytes(), s.dataBytes(), (double) s.bucketBytes() / s.dataBytes());
                }
                if (RETENTION.equals("60s")) {
                    // Segments rewritten late in the run are deleted a grace period later, by a pass
                    // that may come after pgbench ends (packing under load delays the passes).
                    PrimaryWithWalService.await("collection to delete objects from the bucket", 120,
                            () -> {
                                try {
                                    return deletedObjects(stack.pageServer().stderr(), false) > 0;
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            });
                }
                String log = stack.pageServer().stderr();
                long deleted = deletedObjects(log, true);
                if (!RETENTION.equals("60s")) {
                    return; // the measurement without collection
                }
                assertTrue(deleted > 0, "collection deleted objects from the bucket:\n" + log);
                Sample last = samples.getLast();
                assertTrue(last.bucketBytes() < 3 * last.dataBytes(), "bucket " + last.bucketBytes()
                        + " bytes is not below 3x the data directory's " + last.dataBytes());
                PostgresOnDbfsTest.assertInvariant(pg);

                RelTag accounts = RelTag.newBuilder().setSpcNode(1663).setDbNode((int) dbOid).setRelNode((int) relNode).build();
                PageRef block0 = PageRef.newBuilder().setRel(accounts).setBlockNum(0).build();
                var client = stack.pageServer().client();
                long recent = samples.get(samples.size() - 2).lsn(); // at most ~30 s old: inside the window
                GetPagesReply inside = client.getPages(GetPagesRequest.newBuilder().addPages(block0).setAsOfLsn(recent).build());
                assertFalse(inside.getPages(0).getAbsent(), "a read inside the window finds its version");
                assertTrue(Long.compareUnsigned(inside.getPages(0).getLsn(), recent) <= 0);
                long early = samples.getFirst().lsn(); // RUN_SECONDS old: long past the 60 s window
                StatusRuntimeException before = assertThrows(StatusRuntimeException.class, () -> client.getPages(
                        GetPagesRequest.newBuilder().addPages(block0).setAsOfLsn(early).build()));
                assertEquals(Status.Code.OUT_OF_RANGE, before.getStatus().getCode());
                assertTrue(before.getStatus().getDescription().contains("retention horizon"), before.getStatus().getDescription());
                System.out.println("gc: a read before the horizon: " + before.getStatus().getDescription());
            }
        }
    }

    static Sample sample(PostgresCluster pg, Path bucket, Path dataDir, long start) throws Exception {
        long lsn;
        try (var c = pg.connect(); var s = c.createStatement();
             var rs = s.executeQuery("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")) {
            rs.next();
            lsn = rs.getLong(1);
        }
        return new Sample((System.nanoTime() - start) / 1_000_000_000L, bytesUnder(bucket), bytesUnder(dataDir), lsn);
    }
}
