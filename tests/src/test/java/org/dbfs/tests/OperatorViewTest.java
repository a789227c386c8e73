package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.fuse.DbfsCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees of a running cluster: a primary on a read-write mount and a hot standby on
 * a read-only one, both mounts in their own processes over TCP, the WAL service as the synchronous
 * standby. Every service's /metrics parses with Prometheus's own parser, and after a pgbench run
 * the counters moved as the run says they must: at least one durable wait on the mount, and one at
 * the page server, per commit (one client, so no two commits share a WAL write); the WAL service
 * flushed past the primary's last commit. The status page, loaded in headless Chromium, shows the
 * lease, the primary and the replica, and plots with data points; its numbers are /metrics' numbers.
 * {@code dbfs status} prints the same members.
 */
class OperatorViewTest {
    private static final Pattern TRANSACTIONS = Pattern.compile("number of transactions actually processed: (\\d+)");

    @TempDir
    Path tmp;

    @Test
    void metricsStatusPageAndDbfsStatusShowTheCluster() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        Path logs = tmp.resolve("logs");
        int walPort = PostgresCluster.freePort();
        int httpPort = PostgresCluster.freePort();
        int pageServerMetrics = PostgresCluster.freePort();
        int walMetrics = PostgresCluster.freePort();
        int mountMetrics = PostgresCluster.freePort();
        int replicaMetrics = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort, "--http-listen", "127.0.0.1:" + httpPort,
                    "--metrics-listen", "127.0.0.1:" + pageServerMetrics, "--status-interval", "1s"));
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            Files.createDirectories(stack.mountPoint());
            try (MountProcess mount = MountProcess.start(List.of("--rw", "--pageserver", pageServer, "--metrics-listen",
                    "127.0.0.1:" + mountMetrics), stack.mountPoint(), logs);
                 PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                         List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort,
                        List.of("--metrics-listen", "127.0.0.1:" + walMetrics));
                try (ReplicaOnDbfs replica = new ReplicaOnDbfs(tmp.resolve("replica"))) {
                    primary.pgbench(work, "-i", "-s", "2", "-q");
                    replica.mountProcess(pageServer, logs, "--metrics-listen", "127.0.0.1:" + replicaMetrics);
                    replica.configureAndStart("host=127.0.0.1 port=" + primary.port() + " user=postgres application_name=r1", null);
                    await("the replica to accept queries", 180, () -> replica.replayLsn() > 0);

                    PrometheusText mountBefore = PrometheusText.scrape("http://127.0.0.1:" + mountMetrics + "/metrics");
                    PrometheusText psBefore = PrometheusText.scrape("http://127.0.0.1:" + pageServerMetrics + "/metrics");
                    String run = primary.pgbench(work, "-c", "1", "-T", "10");
                    Matcher m = TRANSACTIONS.matcher(run);
                    assertTrue(m.find(), "pgbench printed no transaction count:\n" + run);
                    long commits = Long.parseLong(m.group(1));
                    long flushed = primary.queryLong("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint");
                    PrometheusText mountAfter = PrometheusText.scrape("http://127.0.0.1:" + mountMetrics + "/metrics");
                    PrometheusText psAfter = PrometheusText.scrape("http://127.0.0.1:" + pageServerMetrics + "/metrics");
                    PrometheusText wal = PrometheusText.scrape("http://127.0.0.1:" + walMetrics + "/metrics");
                    PrometheusText replicaMount = PrometheusText.scrape("http://127.0.0.1:" + replicaMetrics + "/metrics");

                    double mountWaits = delta(mountBefore, mountAfter, "dbfs_mount_fsync_duration_seconds_count");
                    double serverWaits = delta(psBefore, psAfter, "dbfs_pageserver_durable_wait_seconds_count");
                    double writes = mountAfter.sum("dbfs_mount_fuse_request_duration_seconds_count", "op=write")
                            - mountBefore.sum("dbfs_mount_fuse_request_duration_seconds_count", "op=write");
                    System.out.printf("pgbench: %d commits; mount: %.0f durable waits, %.0f FUSE writes; page server: %.0f"
                            + " durable waits, %.0f framed calls%n", commits, mountWaits, writes, serverWaits,
                            delta(psBefore, psAfter, "dbfs_pageserver_request_duration_seconds_count"));
                    assertTrue(commits > 10, "pgbench committed too little to check anything: " + commits);
                    assertTrue(mountWaits >= commits, "each commit waits for a durable WAL write on the mount: "
                            + mountWaits + " durable waits for " + commits + " commits");
                    double dsyncWrites = mountAfter.sum("dbfs_mount_fsync_duration_seconds_count", "kind=o_dsync_write")
                            - mountBefore.sum("dbfs_mount_fsync_duration_seconds_count", "kind=o_dsync_write");
                    assertTrue(dsyncWrites > 0 && writes >= dsyncWrites, "the WAL's O_DSYNC writes (wal_sync_method ="
                            + " open_datasync) are FUSE writes: " + dsyncWrites + " of " + writes);
                    assertTrue(serverWaits >= commits, "each commit's durable write waits at the page server: "
                            + serverWaits + " for " + commits + " commits");
                    assertTrue(wal.get("dbfs_walservice_flushed_lsn{}") >= flushed, "the WAL service (synchronous standby)"
                            + " flushed to " + fmt((long) wal.get("dbfs_walservice_flushed_lsn{}")) + ", before the primary's"
                            + " last commit at " + fmt(flushed));
                    assertEquals(1.0, wal.get("dbfs_walservice_primary_connected{}"));
                    assertTrue(wal.get("dbfs_walservice_indexed_lsn{}") > 0 && wal.get("dbfs_walservice_received_lsn{}") >= flushed);
                    assertTrue(wal.sum("dbfs_walservice_request_duration_seconds_count", "method=GetPageRecords") > 0,
                            "the replica's reads made the page server ask the WAL service for page records");
                    assertTrue(replicaMount.get("dbfs_mount_read_only{}") == 1.0 && replicaMount.get("dbfs_mount_replica_lsn{}") > 0);
                    assertTrue(psAfter.sum("dbfs_pageserver_reads_total", "") > 0, "the page server served stored reads");

                    await("the replica to replay to " + fmt(flushed), 60, () -> replica.replayLsn() >= flushed);
                    statusPageShowsWhatMetricsSay(httpPort, pageServerMetrics, tmp.resolve("chromium"));
                    dbfsStatusListsTheMembers(pageServer, logs, replicaMount);
                } finally {
                    svc.close();
                }
            }
        }
    }

    private static double delta(PrometheusText before, PrometheusText after, String name) {
        return after.sum(name, "") - before.sum(name, "");
    }

    /**
     * Loads the page in Chromium and reads the DOM its script built. The lease and the store's
     * numbers are compared with /metrics scraped just before and just after (equal twice: the
     * cluster was quiet), and every reader /metrics names has its row with its B.
     */
    private static void statusPageShowsWhatMetricsSay(int httpPort, int metricsPort, Path profile) throws Exception {
        String url = "http://127.0.0.1:" + httpPort + "/";
        for (int attempt = 1; ; attempt++) {
            PrometheusText before = PrometheusText.scrape("http://127.0.0.1:" + metricsPort + "/metrics");
            String dom = chromium(profile, "--dump-dom", url);
            PrometheusText after = PrometheusText.scrape("http://127.0.0.1:" + metricsPort + "/metrics");
            // The page serves the same registry at /metrics: one set of numbers.
            PrometheusText.scrape(url + "metrics");
            if (!quietParts(before).equals(quietParts(after)) && attempt < 5) {
                continue; // something moved while the page loaded; look again
            }
            assertTrue(dom.contains("data-loaded=\"yes\""), "the status page did not load its data:\n" + dom);
            String epoch = after.labelValues("dbfs_cluster_lease_epoch", "holder").isEmpty() ? null
                    : String.valueOf((long) after.sum("dbfs_cluster_lease_epoch", ""));
            assertEquals(epoch, text(dom, "lease-epoch"), "the page's lease epoch is /metrics'");
            assertEquals(after.labelValues("dbfs_cluster_lease_epoch", "holder").getFirst(), text(dom, "lease-holder"));
            assertEquals(String.valueOf((long) after.get("dbfs_pageserver_bucket_segments{}")), text(dom, "store-segments"));
            assertTrue(dom.contains("data-value=\"" + (long) after.get("dbfs_pageserver_bucket_segment_bytes{}") + "\""),
                    "the page's bucket bytes are /metrics'");
            List<String> readers = after.labelValues("dbfs_pageserver_reader_lsn", "reader");
            assertEquals(1, readers.size(), "one replica holds history: " + readers);
            for (String reader : readers) {
                double b = after.sum("dbfs_pageserver_reader_lsn", "reader=" + reader);
                Matcher row = Pattern.compile("<tr class=\"member\" data-reader=\"" + Pattern.quote(reader)
                        + "\">(.*?)</tr>").matcher(dom);
                assertTrue(row.find(), "no row for replica " + reader + " on the page:\n" + dom);
                assertTrue(row.group(1).contains("<td>" + fmt((long) b) + "</td>"), "replica " + reader + "'s B is "
                        + fmt((long) b) + " in /metrics, the page says: " + row.group(1));
            }
            for (String plot : List.of("plot-lag", "plot-commit", "plot-hits", "plot-bucket", "plot-journal")) {
                Matcher points = Pattern.compile("id=\"" + plot + "\"[^>]*data-points=\"(\\d+)\"").matcher(dom);
                assertTrue(points.find(), plot + " was not drawn:\n" + dom);
                assertTrue(Integer.parseInt(points.group(1)) >= 2, plot + " has " + points.group(1) + " data points");
            }
            System.out.println("status page: loaded in Chromium; lease epoch " + epoch + ", " + readers.size()
                    + " replica, every plot with data points");
            chromium(profile, "--screenshot=" + Path.of("target", "status-page.png").toAbsolutePath(),
                    "--window-size=1400,1500", url);
            return;
        }
    }

    /** The samples a quiet cluster keeps still (not the JVM's own, nor the request counters of the scrape itself). */
    private static Map<String, Double> quietParts(PrometheusText p) {
        Map<String, Double> out = new java.util.TreeMap<>();
        p.samples.forEach((k, v) -> {
            if (k.startsWith("dbfs_cluster_lease_epoch") || k.startsWith("dbfs_pageserver_bucket_")
                    || k.startsWith("dbfs_pageserver_reader_lsn")) {
                out.put(k, v);
            }
        });
        return out;
    }

    private static String text(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + id + "\"[^>]*>([^<]*)<").matcher(dom);
        assertTrue(m.find(), "no element " + id + " on the page");
        return m.group(1);
    }

    /** Headless Chromium from the distribution; its own profile; as root it needs --no-sandbox. */
    private static String chromium(Path profile, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/chromium", "--headless", "--no-sandbox",
                "--disable-gpu", "--user-data-dir=" + profile, "--virtual-time-budget=10000"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium " + List.of(args) + " did not finish");
        }
        assertEquals(0, p.exitValue(), "chromium " + List.of(args) + " failed");
        return out;
    }

    private static void dbfsStatusListsTheMembers(String pageServer, Path logs, PrometheusText replicaMount) throws Exception {
        ChildJvm.Result r = ChildJvm.run(DbfsCli.class, List.of("status", "--pageserver", pageServer), Map.of(), logs);
        System.out.println("dbfs status:\n" + r.stdout());
        assertEquals(0, r.exitCode(), "dbfs status failed: " + r.stderr());
        assertTrue(r.stdout().lines().anyMatch(l -> l.contains("| primary ") && l.contains("primary (epoch ")),
                "no primary row:\n" + r.stdout());
        assertTrue(r.stdout().lines().anyMatch(l -> l.contains("| replica ")), "no replica row:\n" + r.stdout());
        assertTrue(r.stdout().contains("WAL service 127.0.0.1:") && r.stdout().contains("primary connected"), r.stdout());
    }
}
