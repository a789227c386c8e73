package org.dbfs.walservice.index;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.dbfs.pgformat.BufferTag;
import org.lmdbjava.Cursor;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.GetOp;
import org.lmdbjava.Txn;

/**
 * The per-page WAL index: for every page, the WAL records that touch it, in LSN order, kept in an
 * LMDB environment (two databases: {@code records}, laid out as {@link IndexKeys} says, and
 * {@code meta} holding {@code indexed_up_to}).
 *
 * <p>Crash safety comes from LMDB: each {@link #append} is one write transaction holding a
 * batch's entries together with the new "indexed up to" LSN, committed with LMDB's default
 * durable sync. After a crash the index holds exactly the batches that committed, and indexing
 * resumes at {@link #indexedUpTo()}. No checksum of our own: LMDB's copy-on-write B-tree never
 * exposes a half-written transaction.
 *
 * <p>Thread-safe: LMDB serialises writers and gives readers snapshots.
 */
public final class WalIndex implements AutoCloseable {
    public static final long DEFAULT_MAP_SIZE = 1L << 30;
    private static final byte[] INDEXED_UP_TO = "indexed_up_to".getBytes(StandardCharsets.US_ASCII);

    private final Env<ByteBuffer> env;
    private final Dbi<ByteBuffer> records;
    private final Dbi<ByteBuffer> meta;

    private WalIndex(Env<ByteBuffer> env) {
        this.env = env;
        this.records = env.openDbi("records", DbiFlags.MDB_CREATE);
        this.meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
    }

    public static WalIndex open(Path dir) throws IOException {
        return open(dir, DEFAULT_MAP_SIZE);
    }

    /** @param mapSize the most the index may grow to (LMDB reserves this much address space, not disk) */
    public static WalIndex open(Path dir, long mapSize) throws IOException {
        Files.createDirectories(dir);
        Env<ByteBuffer> env = Env.create().setMapSize(mapSize).setMaxDbs(2).setMaxReaders(256).open(dir.toFile());
        return new WalIndex(env);
    }

    /** The index is complete for every record that starts below this LSN (0 for a new index). */
    public long indexedUpTo() {
        try (Txn<ByteBuffer> txn = env.txnRead()) {
            ByteBuffer v = meta.get(txn, direct(INDEXED_UP_TO));
            return v == null ? 0 : v.order(ByteOrder.BIG_ENDIAN).getLong(v.position());
        }
    }

    /**
     * Adds a batch: the page references of every record that starts in [{@link #indexedUpTo()},
     * {@code indexedUpTo}), and moves "indexed up to" there, in one transaction. References below
     * the current {@link #indexedUpTo()} are already in the index (a batch re-decoded after a crash)
     * and are skipped, so resuming is idempotent.
     *
     * @throws IllegalArgumentException if {@code indexedUpTo} goes backwards or a reference lies at or past it
     */
    public void append(List<PageRef> refs, long indexedUpTo) {
        ByteBuffer key = ByteBuffer.allocateDirect(IndexKeys.KEY_BYTES);
        ByteBuffer value = ByteBuffer.allocateDirect(IndexKeys.VALUE_BYTES);
        try (Txn<ByteBuffer> txn = env.txnWrite()) {
            ByteBuffer current = meta.get(txn, direct(INDEXED_UP_TO));
            long done = current == null ? 0 : current.order(ByteOrder.BIG_ENDIAN).getLong(current.position());
            if (Long.compareUnsigned(indexedUpTo, done) < 0) {
                throw new IllegalArgumentException("indexed-up-to must not go backwards: current=" + done + " new=" + indexedUpTo);
            }
            for (PageRef ref : refs) {
                if (Long.compareUnsigned(ref.lsn(), indexedUpTo) >= 0) {
                    throw new IllegalArgumentException("record at " + ref.lsn() + " is not below the batch end " + indexedUpTo);
                }
                if (Long.compareUnsigned(ref.lsn(), done) < 0) {
                    continue;
                }
                records.put(txn, IndexKeys.key(key, ref.page(), ref.lsn()), IndexKeys.value(value, ref.record()));
            }
            ByteBuffer up = ByteBuffer.allocateDirect(8).order(ByteOrder.BIG_ENDIAN).putLong(0, indexedUpTo);
            meta.put(txn, direct(INDEXED_UP_TO), up);
            txn.commit();
        }
    }

    /** The records touching {@code page} that start in [fromLsn, toLsn), in LSN order. */
    public List<IndexedRecord> recordsTouching(BufferTag page, long fromLsn, long toLsn) {
        List<IndexedRecord> out = new ArrayList<>();
        if (Long.compareUnsigned(fromLsn, toLsn) >= 0) {
            return out;
        }
        // A plain cursor walk with our own stop test: lmdbjava's KeyRange compares keys with a
        // Java comparator that does not match LMDB's byte order for these keys.
        ByteBuffer from = IndexKeys.key(ByteBuffer.allocateDirect(IndexKeys.KEY_BYTES), page, fromLsn);
        try (Txn<ByteBuffer> txn = env.txnRead(); Cursor<ByteBuffer> c = records.openCursor(txn)) {
            for (boolean ok = c.get(from, GetOp.MDB_SET_RANGE); ok; ok = c.next()) {
                if (!IndexKeys.samePage(c.key(), page)) {
                    break;
                }
                long lsn = IndexKeys.lsn(c.key());
                if (Long.compareUnsigned(lsn, toLsn) >= 0) {
                    break;
                }
                out.add(IndexKeys.record(lsn, c.val()));
            }
        }
        return out;
    }

    /**
     * The newest record at or below {@code lsn} that gives {@code page} a base to replay from (a
     * full-page image redo applies, or a page initialisation), if any.
     */
    public Optional<IndexedRecord> lastImageOrInitAtOrBelow(BufferTag page, long lsn) {
        ByteBuffer at = IndexKeys.key(ByteBuffer.allocateDirect(IndexKeys.KEY_BYTES), page, lsn);
        try (Txn<ByteBuffer> txn = env.txnRead(); Cursor<ByteBuffer> c = records.openCursor(txn)) {
            // Land on the last key <= (page, lsn): the first key >= it, stepping back unless it is an exact hit.
            boolean ok = c.get(at, GetOp.MDB_SET_RANGE);
            if (!ok) {
                ok = c.last();
            } else if (!(IndexKeys.samePage(c.key(), page) && IndexKeys.lsn(c.key()) == lsn)) {
                ok = c.prev();
            }
            for (; ok && IndexKeys.samePage(c.key(), page); ok = c.prev()) {
                IndexedRecord r = IndexKeys.record(IndexKeys.lsn(c.key()), c.val());
                if (RecordFlags.isBase(r.flags())) {
                    return Optional.of(r);
                }
            }
        }
        return Optional.empty();
    }

    private static ByteBuffer direct(byte[] bytes) {
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    @Override
    public void close() {
        env.close();
    }
}
