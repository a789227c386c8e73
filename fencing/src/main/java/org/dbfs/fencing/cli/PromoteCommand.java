package org.dbfs.fencing.cli;

import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.fencing.WriterRefusedException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.FenceRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.WalFenceReply;
import org.dbfs.protocol.walservice.v1.WalFenceRequest;
import org.dbfs.protocol.walservice.v1.WalFollowRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code fencectl promote}: a hot standby on a read-only mount becomes the primary, and the old
 * primary can never write again (docs/fencing.md). In order, each step printed with its time:
 * <ol>
 * <li>check the replica: its mount answers, is read-only, holds its reader lease at a B the page
 *     server's retention horizon has not passed, and PostgreSQL on it is in recovery;</li>
 * <li>move the lease to the next epoch, held by the replica and claimed by this run (the fence
 *     and the decision, one conditional write: of two promotions one wins, the other changes
 *     nothing; a second run while this one holds its claim is refused);</li>
 * <li>fence the WAL service (no commit of the old primary returns after this) and take F and the
 *     end of the last whole record below it; fence the page server;</li>
 * <li>stop the standby streaming from the old primary (and running restore_command), write the
 *     WAL it lacks up to that record end from the WAL service into its pg_wal, and wait until it
 *     has replayed it;</li>
 * <li>arm the mount, then {@code pg_promote()}: when PostgreSQL installs the new timeline's history
 *     file, the mount branches the page server's timeline at PostgreSQL's own end of recovery,
 *     checked to be at or past that record end, and turns read-write;</li>
 * <li>record the new primary and its timeline in the lease; give the WAL service its slot on the
 *     new primary and point it there.</li>
 * </ol>
 * A failure before step 2 changes nothing (exit 7 or 1); after it, the command says what stands,
 * gives its claim up, and a second run resumes the same promotion. A run on a replica that is the
 * primary already only makes sure the WAL service follows it.
 */
@Command(name = "promote", mixinStandardHelpOptions = true,
        description = "Promotes the standby on a read-only DbFS mount; fences the old primary first.")
final class PromoteCommand implements Callable<Integer> {
    /** How long pg_promote() may take to end recovery. */
    private static final int PROMOTE_SECONDS = 120;

    @Mixin
    BucketOptions bucket;

    @Mixin
    ServiceOptions serviceOptions;

    @Option(names = "--replica", required = true, paramLabel = "MOUNTPOINT", description = "the read-only mount whose standby to promote")
    Path replica;

    @Option(names = "--replica-host", defaultValue = "127.0.0.1",
            description = "the address the WAL service and this command reach the standby at (default ${DEFAULT-VALUE})")
    String replicaHost;

    @Option(names = "--user", defaultValue = "postgres", description = "database user for the standby (default ${DEFAULT-VALUE})")
    String user;

    @Option(names = "--slot", defaultValue = "walservice",
            description = "the WAL service's replication slot, created on the new primary (default ${DEFAULT-VALUE})")
    String slot;

    @Option(names = "--replay-timeout", defaultValue = "120", description = "seconds to wait for the standby to replay to F (default ${DEFAULT-VALUE})")
    int replayTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        StepClock clock = new StepClock(System.out);
        ReplicaMount mount = new ReplicaMount(replica);
        Map<String, String> status = mount.request("status");
        String holder = status.get("holder");
        try (LeaseAccess access = new LeaseAccess(bucket); ServiceChannels services = serviceOptions.open()) {
            ClusterLeaseStore leases = access.leases;
            boolean alreadyRw = "rw".equals(status.get("mode"));
            if (!alreadyRw) {
                checkHistoryIsKept(status, services);
            }
            int port = mount.postgresPort();
            try (Connection standby = connect(port)) {
                if (!alreadyRw && !inRecovery(standby)) {
                    throw new IllegalArgumentException("PostgreSQL on " + replica + " (port " + port + ") is not in recovery: not a standby");
                }
                clock.step("replica " + replica + " (" + holder + "): mount " + status.get("mode") + ", B " + status.get("b")
                        + ", reader lease " + status.get("reader_lease") + ", PostgreSQL on port " + port);

                ClusterLease before = leases.read().map(ClusterLeaseStore.Current::lease).orElse(null);
                if (alreadyRw && before != null && before.state() == ClusterLease.State.PRIMARY && before.holder().equals(holder)) {
                    // A run that stopped after the lease said primary: only the WAL service may still need pointing.
                    clock.step(holder + " is the primary already at epoch " + before.epoch() + " on timeline " + before.timeline()
                            + ": finishing with the WAL service");
                    followWalService(clock, services, standby, port, before.epoch(), before.timeline(),
                            Lsn.parse(status.get("branch_lsn")));
                    System.out.print(before.describe(leases.now()));
                    return 0;
                }
                String run = runId();
                ClusterLeaseStore.Current lease = leases.promote(holder, run,
                        Duration.ofSeconds(replayTimeoutSeconds + PROMOTE_SECONDS + 60L));
                long epoch = lease.lease().epoch();
                clock.step((before != null && before.epoch() == epoch ? "resuming the promotion at epoch " : "lease moved to epoch ")
                        + epoch + " for " + holder + " (was " + (before == null ? "absent" : before.summary()) + "; run " + run + ")");
                try {
                    promote(clock, leases, lease, services, mount, standby, port, alreadyRw);
                } catch (RuntimeException | SQLException | InterruptedException | java.io.IOException e) {
                    leases.releaseClaim(run); // the next run resumes at once instead of waiting for the claim to end
                    throw e;
                }
                return 0;
            }
        }
    }

    /**
     * A standby that cannot read the pages it has still to replay cannot finish recovery: its
     * reader lease must be held and B at or above the page server's retention horizon. Checked
     * before the lease moves, so that a refusal changes nothing.
     */
    private void checkHistoryIsKept(Map<String, String> status, ServiceChannels services) {
        long b = Lsn.parse(status.get("b"));
        long horizon = services.pageServer().serverInfo(ServerInfoRequest.getDefaultInstance()).getGcHorizonLsn();
        String readerLease = status.getOrDefault("reader_lease", "held");
        if (Long.compareUnsigned(b, horizon) < 0 || "refused".equals(readerLease)) {
            throw new WriterRefusedException("the replica " + replica + " is behind the retention horizon: it reads as of B = "
                    + Lsn.format(b) + ", the page server keeps history only from " + Lsn.format(horizon) + " (its reader lease is "
                    + readerLease + "), so its standby cannot replay to F. Nothing was changed. Promote another replica, or"
                    + " mount this one again on a fresh --overlay-dir (scripts/replica start) and promote that");
        }
    }

    private void promote(StepClock clock, ClusterLeaseStore leases, ClusterLeaseStore.Current lease, ServiceChannels services,
                         ReplicaMount mount, Connection standby, int port, boolean alreadyRw)
            throws SQLException, InterruptedException, java.io.IOException {
        long epoch = lease.lease().epoch();
        long recordEnd;
        try {
            WalFenceReply w = services.walService().fence(WalFenceRequest.newBuilder().setEpoch(epoch).build());
            recordEnd = w.getRecordEndLsn() != 0 ? w.getRecordEndLsn() : w.getFenceLsn();
            clock.step("WAL service " + services.walServiceAddress() + " fenced: durable WAL ends at F = "
                    + Lsn.format(w.getFenceLsn()) + ", its last whole record at " + Lsn.format(recordEnd));
            services.pageServer().fence(FenceRequest.getDefaultInstance());
            clock.step("page server " + services.pageServerAddress() + " fenced at epoch " + epoch);
            if (lease.lease().fenceLsn() == 0) {
                leases.recordFenceLsn(lease, w.getFenceLsn());
            }
        } catch (StatusRuntimeException | IllegalArgumentException e) {
            throw incomplete(epoch, "the fence is not complete", e);
        }

        if (!alreadyRw) {
            try (Statement s = standby.createStatement()) {
                // No more streaming from the fenced primary, and no restore_command: the WAL it
                // lacks comes from the WAL service straight into pg_wal (below), and ending recovery
                // does not run one (a new process each time) to look for newer timelines' history
                // files: the page server's timeline is the check against reusing one (the mount
                // refuses a timeline not after it).
                s.execute("ALTER SYSTEM SET primary_conninfo = ''");
                s.execute("ALTER SYSTEM SET restore_command = ''");
                s.execute("SELECT pg_reload_conf()");
            }
            clock.step("standby stops streaming from the old primary; it must replay to " + Lsn.format(recordEnd));
            long have = receivedOrReplayed(standby);
            long walEnd = services.walService().getPositions(GetPositionsRequest.getDefaultInstance()).getFlushedLsn();
            if (Long.compareUnsigned(have, walEnd) > 0) {
                // The standby will end recovery after WAL the WAL service never got: give it that WAL,
                // so that the new timeline's history is all in the WAL service (GetPage@LSN reads it).
                long bytes = StandbyWalTopUp.giveToWalService(services.walService(), epoch, mount.mountPoint.resolve("pg_wal"),
                        segmentSize(standby), walEnd, have);
                clock.step("the standby had " + bytes + " bytes of the old primary's WAL more than the WAL service ("
                        + Lsn.format(walEnd) + ".." + Lsn.format(have) + "): appended there");
            }
            if (Long.compareUnsigned(have, recordEnd) < 0) {
                long bytes = StandbyWalTopUp.write(services.walService(), mount.mountPoint.resolve("pg_wal"),
                        segmentSize(standby), have, recordEnd);
                clock.step("wrote the " + bytes + " bytes of WAL it lacked (" + Lsn.format(have) + ".." + Lsn.format(recordEnd)
                        + ") from the WAL service into its pg_wal");
            }
            long replayed = awaitReplay(standby, recordEnd);
            clock.step("standby replayed to " + Lsn.format(replayed));
            mount.request("arm epoch=" + epoch + " min_lsn=" + Lsn.format(recordEnd));
            clock.step("mount armed: it turns read-write on the new timeline when PostgreSQL ends recovery");
            try (Statement s = standby.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_promote(true, " + PROMOTE_SECONDS + ")")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    throw incomplete(epoch, "pg_promote() did not finish within " + PROMOTE_SECONDS + " s", null);
                }
            } catch (SQLException e) {
                throw incomplete(epoch, "pg_promote() failed (the mount's log says why if it refused the switch)", e);
            }
            clock.step("PostgreSQL promoted");
            try (Statement s = standby.createStatement()) {
                // The new primary's configuration is what its replicas copy: take back the pause.
                s.execute("ALTER SYSTEM RESET primary_conninfo");
                s.execute("ALTER SYSTEM RESET restore_command");
                s.execute("SELECT pg_reload_conf()");
            }
        }
        Map<String, String> after = mount.request("status");
        if (!"rw".equals(after.get("mode"))) {
            throw incomplete(epoch, "PostgreSQL left recovery but the mount did not turn read-write (" + after + ")", null);
        }
        int timeline = Integer.parseInt(after.get("timeline"));
        long branch = Lsn.parse(after.get("branch_lsn"));
        clock.step("mount read-write on timeline " + timeline + ", branched at " + Lsn.format(branch) + " (switch took "
                + after.get("promote_ms") + " ms, " + after.get("plain_files") + " files uploaded)");
        ClusterLeaseStore.Current done = leases.finishPromotion(epoch, lease.lease().holder(), timeline);
        clock.step("lease: " + done.lease().summary());
        followWalService(clock, services, standby, port, epoch, timeline, branch);
        System.out.print(done.lease().describe(leases.now()));
    }

    /** Gives the WAL service its slot on the new primary and points it there (both idempotent). */
    private void followWalService(StepClock clock, ServiceChannels services, Connection primary, int port, long epoch, int timeline,
                                  long branch) throws SQLException {
        try (Statement s = primary.createStatement()) {
            // Reserved now, as the WAL service's own creation would: the new primary keeps its WAL from here on.
            s.execute("SELECT pg_create_physical_replication_slot('" + slot.replace("'", "''") + "', true) WHERE NOT EXISTS"
                    + " (SELECT 1 FROM pg_replication_slots WHERE slot_name = '" + slot.replace("'", "''") + "')");
        }
        String conninfo = "host=" + replicaHost + " port=" + port + " user=" + user;
        try {
            services.walService().follow(WalFollowRequest.newBuilder().setEpoch(epoch).setPrimary(conninfo)
                    .setTimeline(timeline).setSwitchLsn(branch).build());
        } catch (StatusRuntimeException e) {
            throw incomplete(epoch, "the WAL service could not be pointed at the new primary, so its commits wait", e);
        }
        clock.step("WAL service follows " + conninfo + " on timeline " + timeline + " (slot " + slot + ")");
    }

    /** Names this run in the lease: which host and process is promoting, for the other run's refusal. */
    private static String runId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "localhost";
        }
        return "fencectl@" + host + ":" + ProcessHandle.current().pid() + "@" + java.time.Instant.now().toEpochMilli();
    }

    private Connection connect(int port) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://" + replicaHost + ":" + port + "/postgres", p);
    }

    /** How far the standby has WAL: what it streamed (it may not have replayed all of it yet), else what it replayed. */
    private static long receivedOrReplayed(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text")) {
            rs.next();
            String v = rs.getString(1);
            return v == null ? 0 : Lsn.parse(v);
        }
    }

    private static int segmentSize(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static boolean inRecovery(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private long awaitReplay(Connection c, long target) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + replayTimeoutSeconds * 1_000_000_000L;
        while (true) {
            long replayed;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_last_wal_replay_lsn()")) {
                rs.next();
                String v = rs.getString(1);
                replayed = v == null ? 0 : Lsn.parse(v);
            }
            if (Long.compareUnsigned(replayed, target) >= 0) {
                return replayed;
            }
            if (System.nanoTime() > deadline) {
                throw new IncompleteException("the standby replayed only to " + Lsn.format(replayed) + " of " + Lsn.format(target)
                        + " in " + replayTimeoutSeconds + " s (its log says why)."
                        + " The lease stays promoting; run the same command again once the standby can read the archive", null);
            }
            Thread.sleep(20);
        }
    }

    private static IncompleteException incomplete(long epoch, String what, Exception e) {
        String why = e == null ? "" : ": " + (e instanceof StatusRuntimeException s ? s.getStatus().getCode() + " "
                + s.getStatus().getDescription() : e.getMessage());
        return new IncompleteException("the lease is at epoch " + epoch + " (promoting) but " + what + why
                + ". Run the same fencectl promote again to finish it", e);
    }
}
