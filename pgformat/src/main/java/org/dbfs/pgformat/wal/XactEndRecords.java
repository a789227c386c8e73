package org.dbfs.pgformat.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Transaction end records, the ones recovery_target_time looks at (xlogrecovery.c,
 * getRecordTimestamp and recoveryStopsBefore): commits and aborts, prepared or not. Each starts its
 * main data with {@code TimestampTz xact_time} (xact.h, xl_xact_commit and xl_xact_abort).
 */
public final class XactEndRecords {
    /** rmgrlist.h: RM_XACT_ID. */
    public static final int RM_XACT_ID = 1;
    /** xact.h: the record type within RM_XACT's info bits. */
    public static final int XLOG_XACT_OPMASK = 0x70;
    public static final int XLOG_XACT_COMMIT = 0x00;
    public static final int XLOG_XACT_ABORT = 0x20;
    public static final int XLOG_XACT_COMMIT_PREPARED = 0x30;
    public static final int XLOG_XACT_ABORT_PREPARED = 0x40;
    /** Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC). */
    public static final long POSTGRES_EPOCH_UNIX_MICROS = 946_684_800_000_000L;

    private XactEndRecords() {}

    public static boolean isXactEnd(DecodedRecord r) {
        if (r.rmid() != RM_XACT_ID) {
            return false;
        }
        int op = r.info() & XLOG_XACT_OPMASK;
        return op == XLOG_XACT_COMMIT || op == XLOG_XACT_ABORT || op == XLOG_XACT_COMMIT_PREPARED
                || op == XLOG_XACT_ABORT_PREPARED;
    }

    /** The record's xact_time in microseconds since the Unix epoch; only for {@link #isXactEnd} records. */
    public static long xactTimeUnixMicros(DecodedRecord r) {
        byte[] main = r.mainData();
        if (main.length < 8) {
            throw new IllegalArgumentException("a transaction end record at " + Lsn.format(r.lsn()) + " with "
                    + main.length + " bytes of main data: no xact_time");
        }
        return ByteBuffer.wrap(main).order(ByteOrder.LITTLE_ENDIAN).getLong(0) + POSTGRES_EPOCH_UNIX_MICROS;
    }
}
