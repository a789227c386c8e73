package org.dbfs.walservice.index;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.RelTag;

/**
 * The byte layout of the index's LMDB keys and values. All big-endian, so LMDB's byte-wise key
 * order is (page, LSN) order and a cursor range over one page yields its records by LSN.
 *
 * <pre>
 * key (25 bytes):
 *   0        4        8        12   13       17                       25
 *   +--------+--------+--------+----+--------+------------------------+
 *   | spc u32| db u32 | rel u32|fork| blk u32| record start LSN u64   |
 *   +--------+--------+--------+----+--------+------------------------+
 *
 * value (13 bytes):
 *   0                        8        12   13
 *   +------------------------+--------+----+
 *   | record end LSN u64     | len u32|flag|
 *   +------------------------+--------+----+
 * </pre>
 */
final class IndexKeys {
    static final int SPC_OFFSET = 0;
    static final int DB_OFFSET = 4;
    static final int REL_OFFSET = 8;
    static final int FORK_OFFSET = 12;
    static final int BLOCK_OFFSET = 13;
    static final int LSN_OFFSET = 17;
    static final int KEY_BYTES = 25;
    static final int PAGE_PREFIX_BYTES = LSN_OFFSET;

    static final int END_LSN_OFFSET = 0;
    static final int LENGTH_OFFSET = 8;
    static final int FLAGS_OFFSET = 12;
    static final int VALUE_BYTES = 13;

    private IndexKeys() {}

    /** Fills {@code buf} (direct, cleared) with the key of (page, lsn) and flips it for reading. */
    static ByteBuffer key(ByteBuffer buf, BufferTag page, long lsn) {
        RelTag rel = page.rel();
        buf.clear().order(ByteOrder.BIG_ENDIAN);
        buf.putInt(SPC_OFFSET, rel.spcNode()).putInt(DB_OFFSET, rel.dbNode()).putInt(REL_OFFSET, rel.relNode())
                .put(FORK_OFFSET, (byte) rel.forkNum()).putInt(BLOCK_OFFSET, page.blockNum()).putLong(LSN_OFFSET, lsn);
        return buf.position(0).limit(KEY_BYTES);
    }

    static ByteBuffer value(ByteBuffer buf, IndexedRecord r) {
        buf.clear().order(ByteOrder.BIG_ENDIAN);
        buf.putLong(END_LSN_OFFSET, r.endLsn()).putInt(LENGTH_OFFSET, r.length()).put(FLAGS_OFFSET, (byte) r.flags());
        return buf.position(0).limit(VALUE_BYTES);
    }

    /** True if {@code key} belongs to {@code page} (same first 17 bytes). */
    static boolean samePage(ByteBuffer key, BufferTag page) {
        RelTag rel = page.rel();
        return key.remaining() == KEY_BYTES
                && key.getInt(key.position() + SPC_OFFSET) == rel.spcNode()
                && key.getInt(key.position() + DB_OFFSET) == rel.dbNode()
                && key.getInt(key.position() + REL_OFFSET) == rel.relNode()
                && key.get(key.position() + FORK_OFFSET) == (byte) rel.forkNum()
                && key.getInt(key.position() + BLOCK_OFFSET) == page.blockNum();
    }

    static long lsn(ByteBuffer key) {
        return key.order(ByteOrder.BIG_ENDIAN).getLong(key.position() + LSN_OFFSET);
    }

    static IndexedRecord record(long lsn, ByteBuffer value) {
        ByteBuffer v = value.order(ByteOrder.BIG_ENDIAN);
        int p = v.position();
        return new IndexedRecord(lsn, v.getLong(p + END_LSN_OFFSET), v.getInt(p + LENGTH_OFFSET), v.get(p + FLAGS_OFFSET) & 0xff);
    }
}
