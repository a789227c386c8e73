package org.dbfs.pgformat.wal;

/**
 * pg_waldump's per-record line, minus the rmgr's own description of the record's data: the common
 * prefix ({@code rmgr: ... len (rec/tot): ... tx: ... lsn: ... prev ... desc: TYPE}) and the block
 * references as PostgreSQL 15 prints them ({@code , blkref #N: rel SPC/DB/REL [fork F] blk B [FPW]}).
 * The fork is named only when it is not main; an image is {@code FPW} when redo applies it, else
 * {@code FPW for WAL verification}.
 */
public final class WalDumpLine {
    private WalDumpLine() {
    }

    /** The line for {@code rec}, without a trailing newline. */
    public static String format(DecodedRecord rec) {
        int fpi = rec.fpiLength();
        StringBuilder sb = new StringBuilder(String.format("rmgr: %-11s len (rec/tot): %6d/%6d, tx: %10d, lsn: %s, prev %s, desc: %s",
                rec.rmgrName(), rec.totalLength() - fpi, rec.totalLength(), rec.xid(), Lsn.formatPadded(rec.lsn()),
                Lsn.formatPadded(rec.prev()), rec.recordTypeName()));
        blockRefs(rec, sb);
        return sb.toString();
    }

    /** Appends the {@code , blkref #N: ...} part. */
    public static void blockRefs(DecodedRecord rec, StringBuilder sb) {
        for (int id = 0; id <= rec.maxBlockId(); id++) {
            if (!rec.hasBlockRef(id)) {
                continue;
            }
            sb.append(", blkref #").append(id).append(": rel ").append(rec.spcNode(id)).append('/')
                    .append(rec.dbNode(id)).append('/').append(rec.relNode(id));
            if (rec.forkNum(id) != 0) {
                sb.append(" fork ").append(rec.fork(id).forkName());
            }
            sb.append(" blk ").append(rec.blockNumber(id));
            if (rec.hasImage(id)) {
                sb.append(rec.imageApply(id) ? " FPW" : " FPW for WAL verification");
            }
        }
    }
}
