package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.ByteSize;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.LeaseStatus;
import org.dbfs.protocol.pageserver.v1.ReaderStatus;
import org.dbfs.protocol.pageserver.v1.TimelineStatus;
import org.dbfs.protocol.walservice.v1.Positions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dbfs status --pageserver ADDR}: the cluster on one screen, as {@code patronictl list}
 * shows one: a member table (the primary, each replica with its LSN and lag), then the lease, the
 * WAL service and the store. The same facts as the status page, from the same report.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show the cluster: the writer lease, the primary and each replica with its LSN and lag, the WAL"
                + " service's positions, the timelines and the store. Exit 0; 1 if the page server cannot be reached.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT|unix:PATH",
            description = "The page server (its --listen address, or unix:PATH for its --listen-socket).")
    String pageServer;

    @Override
    public Integer call() throws Exception {
        PageServerClient client = new PageServerClient(pageServer, true);
        ClusterStatus status;
        try {
            status = client.clusterStatus();
        } catch (StatusRuntimeException e) {
            throw new IOException("page server " + pageServer + " cannot be asked: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")"), e);
        } finally {
            client.close();
        }
        print(status, pageServer, System.out);
        return 0;
    }

    static void print(ClusterStatus s, String pageServer, PrintStream out) {
        out.println("+ Cluster: " + s.getBucket() + (s.getBranch().isEmpty() ? "" : " (branch " + s.getBranch() + ")")
                + " (page server " + pageServer + "), timeline " + currentTimeline(s) + " +");
        Positions wal = s.hasWal() && s.getWal().hasPositions() ? s.getWal().getPositions() : null;
        Table members = new Table("Member", "Role", "State", "LSN", "Lag", "Renewed");
        if (s.hasLease()) {
            LeaseStatus l = s.getLease();
            // The lease's holder is the primary only while the lease says so; released, fenced or
            // promoting, it names the last (or next) writer, and no one writes.
            members.row(l.getHolder(), l.getState().equals("primary") ? "primary" : "writer", l.getState() + " (epoch " + l.getEpoch() + ")",
                    wal == null ? "?" : Lsn.format(wal.getReceivedLsn()), "", ago(s.getNowMs(), l.getRenewedMs()));
        }
        for (ReaderStatus r : s.getReadersList()) {
            members.row(r.getHolder(), "replica", "running", Lsn.format(r.getLsn()), wal == null ? "?" : ByteSize.format(r.getLagBytes()),
                    ago(s.getNowMs(), r.getRenewedMs()));
        }
        members.print(out);
        if (s.getReadersCount() > 0) {
            out.println("(a replica's LSN is its B, what its mount reads pages at: at or behind pg_last_wal_replay_lsn() on it)");
        }
        if (!s.hasLease()) {
            out.println(s.getLeaseError().isEmpty() ? "no writer lease: no read-write mount has started on this bucket"
                    : "the writer lease cannot be read: " + s.getLeaseError());
        } else if (s.getLease().getFenceLsn() != 0) {
            out.println("last fence at F = " + Lsn.format(s.getLease().getFenceLsn()));
        }
        if (s.hasWal()) {
            if (wal == null) {
                out.println("WAL service " + s.getWal().getAddress() + ": cannot be asked: " + s.getWal().getError());
            } else {
                out.println("WAL service " + s.getWal().getAddress() + ": primary " + (wal.getPrimaryConnected() ? "connected"
                        : "NOT connected") + ", timeline " + wal.getTimeline() + "; received " + Lsn.format(wal.getReceivedLsn())
                        + ", flushed " + Lsn.format(wal.getFlushedLsn()) + ", indexed " + Lsn.format(wal.getIndexedLsn())
                        + ", archived " + Lsn.format(wal.getArchivedLsn())
                        + (wal.getIndexError().isEmpty() ? "" : "; INDEXING STOPPED: " + wal.getIndexError()));
            }
        } else {
            out.println("WAL service: none (the page server runs without --walservice: no replicas, no GetPage@LSN)");
        }
        StringBuilder timelines = new StringBuilder("Timelines:");
        for (TimelineStatus t : s.getTimelinesList()) {
            timelines.append(' ').append(t.getTimeline());
            if (t.getParent() != 0) {
                timelines.append(" (from ").append(t.getParent()).append(" at ").append(Lsn.format(t.getBranchLsn())).append(')');
            }
        }
        out.println(timelines);
        var st = s.getStore();
        out.println("Store: " + st.getSegments() + " segments, " + ByteSize.format(st.getSegmentBytes()) + " in the bucket; "
                + ByteSize.format(st.getUnpackedJournalBytes()) + " in the journal not yet packed; GC horizon "
                + (st.getGcHorizonLsn() == 0 ? "none yet" : Lsn.format(st.getGcHorizonLsn())) + ", "
                + st.getVersionsDropped() + " versions dropped since start");
    }

    private static int currentTimeline(ClusterStatus s) {
        for (TimelineStatus t : s.getTimelinesList()) {
            if (t.getCurrent()) {
                return t.getTimeline();
            }
        }
        return 1;
    }

    private static String ago(long nowMs, long thenMs) {
        long s = Math.max(0, (nowMs - thenMs) / 1000);
        return s < 120 ? s + " s ago" : s / 60 + " min ago";
    }

    /** A table with borders, as patronictl draws one. */
    private static final class Table {
        private final java.util.List<String[]> rows = new java.util.ArrayList<>();

        Table(String... header) {
            rows.add(header);
        }

        void row(String... cells) {
            rows.add(cells);
        }

        void print(PrintStream out) {
            int[] width = new int[rows.getFirst().length];
            for (String[] r : rows) {
                for (int i = 0; i < r.length; i++) {
                    width[i] = Math.max(width[i], r[i].length());
                }
            }
            StringBuilder rule = new StringBuilder("+");
            for (int w : width) {
                rule.append("-".repeat(w + 2)).append('+');
            }
            out.println(rule);
            for (int n = 0; n < rows.size(); n++) {
                StringBuilder line = new StringBuilder("|");
                for (int i = 0; i < width.length; i++) {
                    line.append(' ').append(rows.get(n)[i]).append(" ".repeat(width[i] - rows.get(n)[i].length())).append(" |");
                }
                out.println(line);
                if (n == 0) {
                    out.println(rule);
                }
            }
            out.println(rule);
        }
    }
}
