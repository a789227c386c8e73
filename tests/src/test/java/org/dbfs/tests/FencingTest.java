package org.dbfs.tests;

import static org.dbfs.tests.PrimaryWithWalService.await;
import static org.dbfs.tests.PrimaryWithWalService.fmt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.fencing.cli.FencectlCli;
import org.dbfs.fuse.DbfsMount;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.walservice.v1.Positions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A paused primary stays fenced. The primary runs bank transfers on a read-write mount (a separate
 * process, reached over TCP) with the WAL service as its synchronous standby, a hot standby follows
 * on a read-only mount; the primary's processes and its mount get SIGSTOP, {@code fencectl fence}
 * runs (first with the WAL service unreachable, which must leave a fence the second run finishes),
 * then {@code fencectl promote} promotes the standby, then the old primary gets SIGCONT. From the
 * fence on: no COMMIT sent after it returns, every write and fsync on the old mount fails,
 * PostgreSQL there panics when it tries to write WAL, the page server counts the refused writes,
 * nothing the old primary tries reaches the new primary, and every transfer acknowledged before
 * (some acknowledgements reach their client only after SIGCONT) is on the new primary. The WAL
 * service comes back fenced after a restart. Before the fence, a second read-write mount is
 * refused with the holder named.
 */
class FencingTest {
    private static final Pattern F_LINE = Pattern.compile("fence LSN \\(F\\): ([0-9A-F]+/[0-9A-F]+)");

    @TempDir
    Path tmp;

    @Test
    void aPausedPrimaryStaysFencedWhileItsStandbyIsPromoted() throws Exception {
        Path work = PostgresCluster.workDirectory(tmp.resolve("work"));
        Path logs = tmp.resolve("logs");
        Path passphrase = Files.writeString(tmp.resolve("passphrase"), DbfsStack.PASSPHRASE + "\n");
        int walPort = PostgresCluster.freePort();
        try (DbfsStack stack = DbfsStack.onLocalBucket(tmp.resolve("stack"))) {
            stack.startPageServer(List.of("--walservice", "127.0.0.1:" + walPort));
            String pageServer = "127.0.0.1:" + stack.pageServer().port();
            List<String> bucket = List.of("--bucket", stack.root().resolve("bucket").toUri().toString(),
                    "--passphrase-file", passphrase.toString());
            try (MountProcess mount = MountProcess.start(List.of("--rw", "--pageserver", pageServer), stack.mountPoint(), logs);
                 PostgresCluster primary = PostgresCluster.initdb(stack.dataDirectory(), work.resolve("primary"),
                         List.of(PostgresOnDbfsTest.PRIMARY_CONF, PrimaryWithWalService.CONF));
                 ReplicaOnDbfs replica = new ReplicaOnDbfs(tmp.resolve("replica"))) {
                primary.start();
                WalServiceProcess svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                        tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort);
                try (Connection c = primary.connect()) {
                    BankWorkload.createSchema(c);
                }
                secondWriterIsRefused(pageServer, tmp.resolve("second-mnt"));
                replica.mountProcess(pageServer, logs);
                replica.configureAndStart("host=127.0.0.1 port=" + primary.port() + " user=postgres", null);
                await("the standby to accept queries", 180, () -> replica.replayLsn() > 0);

                BankWorkload bank = new BankWorkload(primary.port(), tmp.resolve("acked.txt"));
                try (bank) {
                    bank.start(4, 1);
                    await("transfers to commit", 60, () -> bank.ackedCount() >= 200);

                    List<Long> paused = new ArrayList<>(primary.processIds());
                    paused.add(mount.pid());
                    ChildJvm.signal("STOP", paused);
                    ChildJvm.Result unreachable = fencectl(logs, "fence", bucket, "--pageserver", pageServer,
                            "--walservice", "127.0.0.1:" + PostgresCluster.freePort());
                    assertEquals(FencectlCli.INCOMPLETE, unreachable.exitCode(), unreachable.stderr());
                    assertTrue(unreachable.stderr().contains("epoch 2 (fenced)"), unreachable.stderr());

                    ChildJvm.Result fence = fencectl(logs, "fence", bucket, "--pageserver", pageServer);
                    long fencedAt = System.nanoTime();
                    assertEquals(0, fence.exitCode(), fence.stdout() + fence.stderr());
                    System.out.print(fence.stdout());
                    assertTrue(fence.stdout().contains("finishing it"), "the second run finished the first one's fence:\n"
                            + fence.stdout());
                    long f = fenceLsn(fence.stdout());
                    ChildJvm.Result status = fencectl(logs, "status", bucket);
                    assertEquals(0, status.exitCode(), status.stderr());
                    assertTrue(status.stdout().contains("epoch: 2\n") && status.stdout().contains("state: fenced\n")
                            && status.stdout().contains("holder: (none)\n") && fenceLsn(status.stdout()) == f, status.stdout());
                    Positions atFence = svc.positions();
                    assertEquals(2, atFence.getFencedEpoch());
                    assertEquals(f, atFence.getFlushedLsn(), "F is where the WAL service's durable WAL ends");
                    svc.kill9();
                    svc = WalServiceProcess.start("host=127.0.0.1 port=" + primary.port() + " user=postgres",
                            tmp.resolve("wal-bucket"), tmp.resolve("walservice"), logs, walPort);
                    Positions restarted = svc.positions();
                    assertEquals(2, restarted.getFencedEpoch(), "a restarted WAL service is still fenced");
                    assertEquals(f, restarted.getFlushedLsn(), "and has received nothing since");

                    ChildJvm.Result promote = fencectl(logs, "promote", bucket, "--pageserver", pageServer,
                            "--replica", replica.mountPoint.toString());
                    System.out.print(promote.stdout());
                    assertEquals(0, promote.exitCode(), promote.stdout() + promote.stderr());
                    PostgresCluster newPrimary = replica.pg();

                    ChildJvm.signal("CONT", paused);
                    // A transaction that needs only its own WAL flush: the mount's write must fail, and PostgreSQL panics.
                    SQLException probe = assertThrows(SQLException.class, () -> {
                        try (Connection c = primary.connect(); Statement s = c.createStatement()) {
                            s.execute("SET synchronous_commit = local");
                            s.execute("INSERT INTO transfers VALUES (0, 1, 1, 0)");
                        }
                    });
                    System.out.println("probe transaction after SIGCONT: " + probe.getMessage());
                    await("PostgreSQL to PANIC on a refused WAL write", 60, () -> logContains(primary, "PANIC"));
                    oldMountRefusesEveryWriteAndFsync(stack.mountPoint());

                    bank.close();
                    long lateCommits = 0;
                    for (BankWorkload.Commit commit : bank.commits()) {
                        if (commit.ok() && commit.sentNanos() > fencedAt) {
                            throw new AssertionError("transfer " + commit.id() + " was sent after the fence and its COMMIT returned");
                        }
                        if (commit.ok() && commit.returnedNanos() > fencedAt) {
                            lateCommits++; // acknowledged before the fence, its reply read after SIGCONT: its WAL is <= F
                        }
                    }
                    System.out.printf("fence: %d transfers acknowledged before it, %d of them read their reply after SIGCONT; F = %s%n",
                            bank.ackedCount(), lateCommits, fmt(f));
                    java.util.Set<Long> present = new java.util.HashSet<>();
                    try (Connection c = newPrimary.connect(); Statement s = c.createStatement();
                         java.sql.ResultSet rs = s.executeQuery("SELECT id FROM transfers")) {
                        while (rs.next()) {
                            present.add(rs.getLong(1));
                        }
                    }
                    for (long id : bank.ackedIds()) {
                        assertTrue(present.contains(id), "transfer " + id + " was acknowledged and is not on the new primary");
                    }
                    assertTrue(!present.contains(0L), "the old primary's write after SIGCONT reached the new primary");
                    assertEquals(BankWorkload.TOTAL, newPrimary.queryLong("SELECT sum(balance) FROM accounts"));
                    ServerInfoReply info = stack.pageServer().client().serverInfo(ServerInfoRequest.getDefaultInstance());
                    assertEquals(3, info.getWriterEpoch(), "the fence moved the epoch to 2, the promotion to 3");
                    assertEquals(2, info.getTimeline());
                    assertTrue(info.getFencedWritesRefused() > 0, "the page server refused the old mount's writes");

                    svc.close();
                } finally {
                    primary.crashStop();
                }
            }
        }
    }

    private static void secondWriterIsRefused(String pageServer, Path mountPoint) throws IOException {
        Files.createDirectories(mountPoint);
        IOException e = assertThrows(IOException.class, () -> DbfsMount.mountReadWrite(pageServer, mountPoint, List.of()));
        assertTrue(e.getMessage().contains("the cluster's writer is") && e.getMessage().contains("epoch 1"), e.getMessage());
    }

    private static void oldMountRefusesEveryWriteAndFsync(Path mnt) throws IOException {
        assertThrows(IOException.class, () -> Files.writeString(mnt.resolve("written-after-the-fence"), "x"),
                "creating a file on a fenced mount");
        try (FileChannel ch = FileChannel.open(mnt.resolve("postgresql.auto.conf"), StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            assertThrows(IOException.class, () -> {
                ch.write(ByteBuffer.wrap("# after the fence\n".getBytes()));
                ch.force(true);
            }, "a write and fsync on a fenced mount");
        }
    }

    static ChildJvm.Result fencectl(Path logs, String command, List<String> bucket, String... more)
            throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(bucket);
        args.addAll(List.of(more));
        return ChildJvm.run(FencectlCli.class, args, Map.of(), logs);
    }

    static long fenceLsn(String text) {
        Matcher m = F_LINE.matcher(text);
        assertTrue(m.find(), "no F in:\n" + text);
        return Lsn.parse(m.group(1));
    }

    private static boolean logContains(PostgresCluster pg, String text) {
        try {
            return pg.log().contains(text);
        } catch (IOException e) {
            return false;
        }
    }
}
