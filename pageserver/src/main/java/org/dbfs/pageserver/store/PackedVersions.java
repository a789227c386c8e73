package org.dbfs.pageserver.store;

import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.stream.Stream;
import org.dbfs.pgformat.RelTag;
import org.lmdbjava.Cursor;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.GetOp;
import org.lmdbjava.Txn;

/**
 * Where every packed version lives: an LMDB environment in the cache directory, so that the heap
 * holds only unpacked versions and a bounded cache however large the database and its history grow.
 *
 * <p>Keys and values cross into LMDB as direct buffers this class holds for the length of each call
 * (lmdbjava's byte-array proxy lets the garbage collector free its native copy while LMDB reads it).
 *
 * <p>It is derived state, rebuilt from the segment footers at every start (the bucket is the
 * truth), so it is opened without fsync and its directory is wiped first. Only the packer's thread
 * writes (and the start, before the packer runs); readers take LMDB snapshots.
 *
 * <p>One database per kind of owner. Key: owner bytes ({@link OwnerCodec}), block (8), journal seq
 * (8), all big-endian, so LMDB's byte order is (owner, block, seq) order. Value: lsn (8), segment
 * id (4), frame offset (8), frame length (4), tombstone (1).
 */
final class PackedVersions implements AutoCloseable {
    private static final long MAP_SIZE = 1L << 40; // address space only: the file grows with use
    private static final int VALUE_BYTES = 25;

    private final Env<ByteBuffer> env;
    private final ConcurrentLinkedQueue<Txn<ByteBuffer>> idleReaders = new ConcurrentLinkedQueue<>();
    // A read still running when the environment closes would touch unmapped memory: close waits for it.
    private final ReentrantReadWriteLock open = new ReentrantReadWriteLock();
    private boolean closed; // guarded by open

    private PackedVersions(Env<ByteBuffer> env) {
        this.env = env;
    }

    static PackedVersions create(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
        Files.createDirectories(dir);
        Env<ByteBuffer> env = Env.create().setMapSize(MAP_SIZE).setMaxDbs(2).setMaxReaders(4096)
                .open(dir.toFile(), EnvFlags.MDB_NOSYNC, EnvFlags.MDB_NOMETASYNC, EnvFlags.MDB_NOTLS);
        return new PackedVersions(env);
    }

    <K> Table<K> table(String name, OwnerCodec<K> codec) {
        return new Table<>(env.openDbi(name, DbiFlags.MDB_CREATE), codec);
    }

    Txn<ByteBuffer> write() {
        return env.txnWrite();
    }

    Txn<ByteBuffer> read() {
        return env.txnRead();
    }

    /**
     * Runs {@code body} in a read transaction taken from a pool of reset ones: renewing one costs
     * less than a new one, and lookups on the read path are frequent.
     */
    <T> T withRead(Function<Txn<ByteBuffer>, T> body) {
        open.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the page store is closed");
            }
            Txn<ByteBuffer> txn = idleReaders.poll();
            if (txn == null) {
                txn = env.txnRead();
            } else {
                txn.renew();
            }
            try {
                return body.apply(txn);
            } finally {
                txn.reset();
                idleReaders.offer(txn);
            }
        } finally {
            open.readLock().unlock();
        }
    }

    @Override
    public void close() {
        open.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (Txn<ByteBuffer> txn; (txn = idleReaders.poll()) != null; ) {
                txn.close();
            }
            env.close();
        } finally {
            open.writeLock().unlock();
        }
    }

    /** How an owner (a relation fork or an inode) is written into a key. */
    interface OwnerCodec<K> {
        int bytes();

        void encode(K owner, byte[] key);

        K decode(byte[] key);
    }

    /** One block's packed versions as read from disk, oldest first. */
    record Block<K>(K owner, long block, Version[] versions) {}

    /** The versions of one kind of owner. */
    final class Table<K> {
        private final Dbi<ByteBuffer> dbi;
        private final OwnerCodec<K> codec;

        private Table(Dbi<ByteBuffer> dbi, OwnerCodec<K> codec) {
            this.dbi = dbi;
            this.codec = codec;
        }

        /** A block's packed versions, oldest first, or null if it has none. */
        Version[] versions(K owner, long block) {
            return withRead(txn -> versions(txn, owner, block));
        }

        Version[] versions(Txn<ByteBuffer> txn, K owner, long block) {
            byte[] from = key(owner, block, 0);
            List<Version> out = null;
            ByteBuffer seek = direct(from);
            try (Cursor<ByteBuffer> c = dbi.openCursor(txn)) {
                for (boolean ok = c.get(seek, GetOp.MDB_SET_RANGE); ok; ok = c.next()) {
                    byte[] k = bytes(c.key());
                    if (!sameBlock(k, from)) {
                        break;
                    }
                    if (out == null) {
                        out = new ArrayList<>(4);
                    }
                    out.add(version(k, bytes(c.val())));
                }
            } finally {
                Reference.reachabilityFence(seek);
            }
            return out == null ? null : out.toArray(new Version[0]);
        }

        void put(Txn<ByteBuffer> txn, K owner, long block, Version v) {
            ByteBuffer k = direct(key(owner, block, v.seq()));
            ByteBuffer val = direct(value(v));
            dbi.put(txn, k, val);
            Reference.reachabilityFence(k);
            Reference.reachabilityFence(val);
        }

        void delete(Txn<ByteBuffer> txn, K owner, long block, long seq) {
            ByteBuffer k = direct(key(owner, block, seq));
            dbi.delete(txn, k);
            Reference.reachabilityFence(k);
        }

        /** The version stored under (owner, block, seq), or null. */
        Version get(Txn<ByteBuffer> txn, K owner, long block, long seq) {
            byte[] key = key(owner, block, seq);
            ByteBuffer k = direct(key);
            ByteBuffer value = dbi.get(txn, k);
            Reference.reachabilityFence(k);
            return value == null ? null : version(key, bytes(value));
        }

        /** The blocks of {@code owner} in [fromBlock, toBlock) (toBlock 0 = no bound), in block order. */
        List<Block<K>> blocks(Txn<ByteBuffer> txn, K owner, long fromBlock, long toBlock) {
            List<Block<K>> out = new ArrayList<>();
            byte[] from = key(owner, fromBlock, 0);
            int ownerBytes = codec.bytes();
            ByteBuffer seek = direct(from);
            try (Cursor<ByteBuffer> c = dbi.openCursor(txn)) {
                long block = -1;
                List<Version> versions = new ArrayList<>();
                for (boolean ok = c.get(seek, GetOp.MDB_SET_RANGE); ok; ok = c.next()) {
                    byte[] k = bytes(c.key());
                    if (!samePrefix(k, from, ownerBytes)) {
                        break;
                    }
                    long b = readLong(k, ownerBytes);
                    if (toBlock != 0 && Long.compareUnsigned(b, toBlock) >= 0) {
                        break;
                    }
                    if (b != block && !versions.isEmpty()) {
                        out.add(new Block<>(owner, block, versions.toArray(new Version[0])));
                        versions.clear();
                    }
                    block = b;
                    versions.add(version(k, bytes(c.val())));
                }
                if (!versions.isEmpty()) {
                    out.add(new Block<>(owner, block, versions.toArray(new Version[0])));
                }
            } finally {
                Reference.reachabilityFence(seek);
            }
            return out;
        }

        /**
         * Up to {@code maxBlocks} whole blocks starting at the first key after {@code after} (null =
         * from the start), in key order; an empty list at the end.
         */
        List<Block<K>> scan(Txn<ByteBuffer> txn, Block<K> after, int maxBlocks) {
            List<Block<K>> out = new ArrayList<>();
            byte[] from = after == null ? null : key(after.owner(), after.block(), -1L);
            ByteBuffer seek = from == null ? null : direct(from);
            int prefix = codec.bytes() + 8;
            try (Cursor<ByteBuffer> c = dbi.openCursor(txn)) {
                boolean ok = seek == null ? c.first() : c.get(seek, GetOp.MDB_SET_RANGE);
                byte[] blockKey = null;
                List<Version> versions = new ArrayList<>();
                while (ok) {
                    byte[] k = bytes(c.key());
                    if (from != null && sameBlock(k, from) && readLong(k, prefix) == -1L) {
                        ok = c.next(); // the seq -1 key itself, which no version has
                        continue;
                    }
                    if (blockKey == null || !samePrefix(k, blockKey, prefix)) {
                        if (blockKey != null) {
                            out.add(block(blockKey, versions));
                            versions.clear();
                            if (out.size() >= maxBlocks) {
                                return out;
                            }
                        }
                        blockKey = k;
                    }
                    versions.add(version(k, bytes(c.val())));
                    ok = c.next();
                }
                if (blockKey != null) {
                    out.add(block(blockKey, versions));
                }
            } finally {
                Reference.reachabilityFence(seek);
            }
            return out;
        }

        private Block<K> block(byte[] key, List<Version> versions) {
            return new Block<>(codec.decode(key), readLong(key, codec.bytes()), versions.toArray(new Version[0]));
        }

        private byte[] key(K owner, long block, long seq) {
            int n = codec.bytes();
            byte[] key = new byte[n + 16];
            codec.encode(owner, key);
            writeLong(key, n, block);
            writeLong(key, n + 8, seq);
            return key;
        }

        private boolean sameBlock(byte[] a, byte[] b) {
            return samePrefix(a, b, codec.bytes() + 8);
        }

        private Version version(byte[] key, byte[] value) {
            long seq = readLong(key, codec.bytes() + 8);
            long lsn = readLong(value, 0);
            int segment = readInt(value, 8);
            long offset = readLong(value, 12);
            int length = readInt(value, 20);
            boolean tombstone = value[24] != 0;
            return new Version(tombstone ? Version.NO_LSN : lsn, seq, null, segment, offset, length, tombstone);
        }

        private static byte[] value(Version v) {
            if (v.isUnpacked()) {
                throw new IllegalArgumentException("only packed versions go to disk: seq " + v.seq());
            }
            byte[] value = new byte[VALUE_BYTES];
            writeLong(value, 0, v.tombstone() ? 0 : v.lsn());
            writeInt(value, 8, v.segment());
            writeLong(value, 12, v.offset());
            writeInt(value, 20, v.length());
            value[24] = (byte) (v.tombstone() ? 1 : 0);
            return value;
        }
    }

    /**
     * A direct copy of {@code b} for LMDB to read. The caller keeps it reachable until LMDB is done
     * with it ({@link Reference#reachabilityFence}): its memory goes with it.
     */
    static ByteBuffer direct(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    /** A copy of what LMDB returned: its buffers point into the map and live only as long as the transaction. */
    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    static boolean samePrefix(byte[] a, byte[] b, int n) {
        return a.length >= n && b.length >= n && Arrays.equals(a, 0, n, b, 0, n);
    }

    static void writeLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long readLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    static void writeInt(byte[] b, int at, int v) {
        for (int i = 3; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static int readInt(byte[] b, int at) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }

    /** Relation forks: spcNode, dbNode, relNode (4 each), forkNum (1). */
    static final OwnerCodec<RelTag> RELATIONS = new OwnerCodec<>() {
        public int bytes() {
            return 13;
        }

        public void encode(RelTag rel, byte[] key) {
            writeInt(key, 0, rel.spcNode());
            writeInt(key, 4, rel.dbNode());
            writeInt(key, 8, rel.relNode());
            key[12] = (byte) rel.forkNum();
        }

        public RelTag decode(byte[] key) {
            return new RelTag(readInt(key, 0), readInt(key, 4), readInt(key, 8), key[12]);
        }
    };

    /** File inodes: the inode number (8). */
    static final OwnerCodec<Long> INODES = new OwnerCodec<>() {
        public int bytes() {
            return 8;
        }

        public void encode(Long ino, byte[] key) {
            writeLong(key, 0, ino);
        }

        public Long decode(byte[] key) {
            return readLong(key, 0);
        }
    };
}
