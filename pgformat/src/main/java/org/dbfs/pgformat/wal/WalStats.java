package org.dbfs.pgformat.wal;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * XLogRecStoreStats plus pg_waldump's XLogDumpDisplayStats for {@code --stats=record}: counts and
 * sizes per (rmgr, record type), printed byte for byte as pg_waldump prints them.
 *
 * <p>Record size is xl_tot_len minus the image bytes, FPI size the sum of image lengths
 * (XLogRecGetLen). Percentages are rounded like glibc's printf: half-even on the double's exact value.
 */
public final class WalStats {
    private static final int RMGRS = 256;
    private static final int TYPES = 16;
    /** XLOG_XACT_OPMASK: xact records keep a flag in the top bit of the opcode nibble; stats drop it. */
    private static final int RM_XACT_ID = 1;

    private final long[] count = new long[RMGRS * TYPES];
    private final long[] recLen = new long[RMGRS * TYPES];
    private final long[] fpiLen = new long[RMGRS * TYPES];
    private long records;
    private long startLsn = Lsn.INVALID;
    private long endLsn = Lsn.INVALID;

    /** Counts one record; the first one's LSN starts the range, the last one's EndRecPtr ends it. */
    public void add(DecodedRecord rec) {
        if (records == 0 && startLsn == Lsn.INVALID) {
            startLsn = rec.lsn();
        }
        int recid = rec.info() >>> 4;
        if (rec.rmid() == RM_XACT_ID) {
            recid &= 0x07;
        }
        int slot = rec.rmid() * TYPES + recid;
        int fpi = rec.fpiLength();
        count[slot]++;
        recLen[slot] += rec.totalLength() - fpi;
        fpiLen[slot] += fpi;
        records++;
        endLsn = rec.endLsn();
    }

    /** pg_waldump's stats start at the LSN it was asked to start at, found by XLogFindNextRecord. */
    public void setStartLsn(long lsn) {
        startLsn = lsn;
    }

    public long records() {
        return records;
    }

    /** The {@code --stats=record} table; empty if no record was counted (pg_waldump prints nothing then). */
    public String formatPerRecord() {
        if (endLsn == Lsn.INVALID) {
            return "";
        }
        long totalCount = 0;
        long totalRec = 0;
        long totalFpi = 0;
        for (int i = 0; i < count.length; i++) {
            totalCount += count[i];
            totalRec += recLen[i];
            totalFpi += fpiLen[i];
        }
        long totalLen = totalRec + totalFpi;
        StringBuilder out = new StringBuilder();
        out.append("WAL statistics between ").append(Lsn.format(startLsn)).append(" and ").append(Lsn.format(endLsn))
                .append(":\n");
        out.append(String.format(Locale.ROOT, "%-27s %20s %8s %20s %8s %20s %8s %20s %8s\n", "Type", "N", "(%)", "Record size", "(%)",
                "FPI size", "(%)", "Combined size", "(%)"));
        out.append(String.format(Locale.ROOT, "%-27s %20s %8s %20s %8s %20s %8s %20s %8s\n", "----", "-", "---", "-----------", "---",
                "--------", "---", "-------------", "---"));
        for (int rmid = 0; rmid < RMGRS; rmid++) {
            if (!XLogRecord.rmgrIdIsValid(rmid)) {
                continue;
            }
            for (int t = 0; t < TYPES; t++) {
                int slot = rmid * TYPES + t;
                if (count[slot] == 0) {
                    continue;
                }
                String name = RmgrNames.rmName(rmid) + "/" + RmgrNames.identifyOrUnknown(rmid, t << 4);
                long tot = recLen[slot] + fpiLen[slot];
                out.append(String.format(Locale.ROOT, "%-27s %20d (%s) %20d (%s) %20d (%s) %20d (%s)\n", name,
                        count[slot], pct(count[slot], totalCount), recLen[slot], pct(recLen[slot], totalRec),
                        fpiLen[slot], pct(fpiLen[slot], totalFpi), tot, pct(tot, totalLen)));
            }
        }
        out.append(String.format(Locale.ROOT, "%-27s %20s %8s %20s %8s %20s %8s %20s\n", "", "--------", "", "--------", "",
                "--------", "", "--------"));
        String recPct = "[" + fixed2(totalLen == 0 ? 0 : 100 * (double) totalRec / totalLen) + "%]";
        String fpiPct = "[" + fixed2(totalLen == 0 ? 0 : 100 * (double) totalFpi / totalLen) + "%]";
        out.append(String.format(Locale.ROOT, "%-27s %20d %-9s%20d %-9s%20d %-9s%20d %-6s\n", "Total", records, "", totalRec,
                recPct, totalFpi, fpiPct, totalLen, "[100%]"));
        return out.toString();
    }

    /** "%6.02f" of n*100/total, 0 when total is 0. */
    private static String pct(long n, long total) {
        String s = fixed2(total == 0 ? 0 : 100 * (double) n / total);
        return " ".repeat(Math.max(0, 6 - s.length())) + s;
    }

    /** "%.02f" as glibc prints it: round half to even on the exact binary value. */
    static String fixed2(double v) {
        return new BigDecimal(v).setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    }
}
