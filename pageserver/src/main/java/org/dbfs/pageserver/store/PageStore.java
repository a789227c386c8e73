package org.dbfs.pageserver.store;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.pageserver.format.BlockRangeDrop;
import org.dbfs.pageserver.format.FileBlockRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.NamespaceSnapshot;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentRef;
import org.dbfs.pageserver.journal.Journal;
import org.dbfs.pageserver.namespace.Namespace;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pageserver.segment.SegmentStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage engine: every version of every block, plus the namespace, durable in the journal and
 * then in segment objects named by the manifest.
 *
 * <p>Write path: {@link #commit} assigns the next journal sequence number, appends the record to
 * the journal and applies it to the in-memory index and namespace, all under {@code commitLock}, so
 * records are applied in seq order and a reader never sees a change that is not journaled. It
 * waits for the fsync (group commit) outside the lock. The {@link Packer} later moves versions
 * into segment objects.
 *
 * <p>Read path: index lookup, then the version's bytes from memory (unpacked) or the
 * {@link SegmentStore}.
 *
 * <p>Concurrency: commits serialize on {@code commitLock}; namespace readers take the read side of
 * {@link #namespaceLock()}, which commits take briefly to apply; block reads take no lock.
 */
public final class PageStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PageStore.class);

    final ObjectStore store;
    final FrameCodec codec;
    final StoreOptions options;
    final AtomicLong unpackedBytes = new AtomicLong();
    final BlockIndex<RelTag> pages = new BlockIndex<>(false, unpackedBytes);
    final BlockIndex<Long> fileBlocks = new BlockIndex<>(true, unpackedBytes);
    final Namespace namespace = new Namespace();
    final ReentrantLock commitLock = new ReentrantLock();
    private final ReentrantReadWriteLock namespaceLock = new ReentrantReadWriteLock();
    final SegmentStore segments;
    final ManifestStore manifests;
    private final long incarnation = new SecureRandom().nextLong() & Long.MAX_VALUE;
    private final FileChannel lockChannel;
    private final FileLock dirLock;
    Journal journal;
    Manifest manifest;
    volatile long lastSeq;
    volatile long namespaceSeq; // last seq that changed the namespace
    private Packer packer;

    private PageStore(ObjectStore store, FrameCodec codec, StoreOptions options, FileChannel lockChannel,
                      FileLock dirLock) throws IOException {
        this.store = store;
        this.codec = codec;
        this.options = options;
        this.lockChannel = lockChannel;
        this.dirLock = dirLock;
        this.segments = new SegmentStore(store, codec, options.segmentCacheDir(), options.memoryCacheBytes());
        this.manifests = new ManifestStore(store, codec);
    }

    /**
     * Opens the store: loads the manifest, the segment footers and the namespace snapshot from the
     * bucket, then replays the journal. Call only after the passphrase has been checked.
     */
    public static PageStore open(ObjectStore store, FrameCodec codec, StoreOptions options) throws IOException {
        Files.createDirectories(options.cacheDir());
        FileChannel lockChannel = FileChannel.open(options.cacheDir().resolve("LOCK"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock dirLock;
        try {
            dirLock = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            dirLock = null;
        }
        if (dirLock == null) {
            lockChannel.close();
            throw new IOException("cache directory " + options.cacheDir()
                    + " is in use by another page server; give each page server its own --cache-dir");
        }
        PageStore ps = new PageStore(store, codec, options, lockChannel, dirLock);
        try {
            ps.recover();
        } catch (IOException | RuntimeException e) {
            ps.closeQuietly();
            throw e;
        }
        return ps;
    }

    private void recover() throws IOException {
        manifest = manifests.load().orElse(Manifest.newBuilder().setFormatVersion(ManifestStore.FORMAT_VERSION).build());
        for (SegmentRef ref : manifest.getSegmentsList()) {
            loadSegment(segments.register(ref));
        }
        if (!manifest.getNamespaceObject().isEmpty()) {
            namespace.load(readNamespace(manifest.getNamespaceObject()));
        }
        long packed = manifest.getPackedSeq();
        lastSeq = packed;
        namespaceSeq = packed;
        journal = Journal.open(options.journalDir(), codec, options.journalRollBytes(), record -> {
            if (record.getSeq() > packed) {
                apply(record);
                lastSeq = Math.max(lastSeq, record.getSeq());
            }
        });
        if (namespace.isEmpty()) {
            long now = System.currentTimeMillis() * 1_000_000L;
            commit(JournalRecord.newBuilder().addPutInodes(org.dbfs.pageserver.format.InodeRecord.newBuilder()
                    .setIno(Namespace.ROOT_INO).setType(org.dbfs.pageserver.namespace.NodeTypes.DIRECTORY)
                    .setMode(0755).setNlink(2).setAtimeNs(now).setMtimeNs(now).setCtimeNs(now)), true);
        }
        log.info("page store open: bucket={} segments={} packedSeq={} lastSeq={} inodes={}", store.describe(),
                segments.count(), packed, lastSeq, namespace.inodeCount());
        packer = new Packer(this);
        packer.start();
    }

    private void loadSegment(int id) {
        for (SegmentEntry e : segments.loadFooter(id).getEntriesList()) {
            Version v = e.getTombstone() ? new Version(Version.NO_LSN, e.getSeq(), null, id, 0, 0, true)
                    : Version.packed(e.getLsn(), e.getSeq(), id, e.getOffset(), e.getLength());
            if (e.hasRel()) {
                pages.putLoaded(RelTag.of(e.getRel()), e.getBlock(), v);
            } else {
                fileBlocks.putLoaded(e.getIno(), e.getBlock(), v);
            }
        }
    }

    private NamespaceSnapshot readNamespace(String name) {
        byte[] plain = codec.open(store.get(name), FrameCodec.associatedData(name, 0),
                "object " + name + " in " + store.describe());
        try {
            return NamespaceSnapshot.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException("namespace snapshot " + name + " does not parse", e);
        }
    }

    /** The run of the page server this store belongs to; changes at every start. */
    public long incarnation() {
        return incarnation;
    }

    public long lastSeq() {
        return lastSeq;
    }

    public long packedSeq() {
        return manifest.getPackedSeq();
    }

    public int segmentCount() {
        return segments.count();
    }

    public String bucket() {
        return store.describe();
    }

    public ReentrantReadWriteLock namespaceLock() {
        return namespaceLock;
    }

    /** The namespace; read it only under {@code namespaceLock().readLock()} or inside {@link #mutate}. */
    public Namespace namespace() {
        return namespace;
    }

    /**
     * Result of a commit: its sequence number and the journal position to pass to
     * {@link #whenDurable} (0 when nothing was written).
     */
    public record Commit(long seq, long token) {}

    /** A mutation computed under the commit lock: either an errno or a record to commit. */
    public interface Mutation {
        /** @return 0 to commit {@code record}, or an errno to reject without committing */
        int build(Namespace ns, JournalRecord.Builder record);
    }

    /** Result of {@link #mutate}. */
    public record Outcome(int errno, Commit commit) {}

    /**
     * Computes a mutation from the current state and commits it atomically with respect to every
     * other mutation. Returns once it is journaled and visible, not durable: see
     * {@link #whenDurable}.
     */
    public Outcome mutate(Mutation mutation) throws IOException {
        JournalRecord.Builder record = JournalRecord.newBuilder();
        commitLock.lock();
        try {
            int errno = mutation.build(namespace, record);
            if (errno != 0) {
                return new Outcome(errno, null);
            }
            if (isEmpty(record)) {
                return new Outcome(0, new Commit(lastSeq, 0));
            }
            long token = appendAndApply(record);
            return new Outcome(0, new Commit(record.getSeq(), token));
        } finally {
            commitLock.unlock();
        }
    }

    public Commit commit(JournalRecord.Builder record) throws IOException {
        return mutate((ns, r) -> {
            r.mergeFrom(record.build());
            return 0;
        }).commit();
    }

    /** Commits and, if {@code durable}, waits until the record is durable. */
    public Commit commit(JournalRecord.Builder record, boolean durable) throws IOException {
        Commit c = commit(record);
        if (durable) {
            journal.awaitDurable(c.token());
        }
        return c;
    }

    /** Completes when the journal is durable up to {@code token}; never blocks the caller. */
    public CompletableFuture<Void> whenDurable(long token) {
        return journal.whenDurable(token);
    }

    /** Returns once the journal is durable up to {@code token}, fsyncing on this thread if no fsync is under way. */
    public void awaitDurable(long token) throws IOException {
        journal.awaitDurable(token);
    }

    /** Returns once every commit acknowledged so far is durable (see {@link #awaitDurable}). */
    public void awaitAllDurable() throws IOException {
        journal.awaitDurable(journal.appendedBytes());
    }

    /** Completes when every commit acknowledged so far is durable. */
    public CompletableFuture<Void> whenAllDurable() {
        return journal.whenDurable(journal.appendedBytes());
    }

    /** Returns once every commit acknowledged so far is durable. */
    public void sync() throws IOException {
        journal.sync();
    }

    private long appendAndApply(JournalRecord.Builder record) throws IOException {
        long seq = lastSeq + 1;
        record.setSeq(seq);
        JournalRecord built = record.build();
        long token = journal.append(built);
        lastSeq = seq;
        apply(built);
        return token;
    }

    private static boolean isEmpty(JournalRecord.Builder r) {
        return r.getPagesCount() == 0 && r.getFileBlocksCount() == 0 && r.getPutInodesCount() == 0
                && r.getDropInodesCount() == 0 && r.getPutDirentsCount() == 0 && r.getDeleteDirentsCount() == 0
                && r.getRelDropsCount() == 0 && r.getFileDropsCount() == 0;
    }

    /** Applies a journaled record to the index and namespace: drops first, then new versions. */
    private void apply(JournalRecord r) {
        long seq = r.getSeq();
        for (BlockRangeDrop d : r.getRelDropsList()) {
            pages.drop(RelTag.of(d.getRel()), d.getFromBlock(), d.getToBlock(), seq);
        }
        for (BlockRangeDrop d : r.getFileDropsList()) {
            fileBlocks.drop(d.getIno(), d.getFromBlock(), d.getToBlock(), seq);
        }
        for (PageVersionRecord p : r.getPagesList()) {
            pages.put(RelTag.of(p.getRel()), Integer.toUnsignedLong(p.getBlockNum()),
                    Version.inMemory(p.getLsn(), seq, p.getData().toByteArray()));
        }
        for (FileBlockRecord b : r.getFileBlocksList()) {
            fileBlocks.put(b.getIno(), b.getBlock(), Version.inMemory(0, seq, b.getData().toByteArray()));
        }
        if (r.getPutInodesCount() + r.getPutDirentsCount() + r.getDeleteDirentsCount() + r.getDropInodesCount() > 0
                || r.getNextIno() != 0) {
            namespaceLock.writeLock().lock();
            try {
                namespace.apply(r);
            } finally {
                namespaceLock.writeLock().unlock();
            }
            namespaceSeq = seq;
        }
        if (packer != null && unpackedBytes.get() > options.packBytes()) {
            packer.wake();
        }
    }

    /** A page as of {@code asOfLsn} (0 = latest written), or null if absent. */
    public StoredBlock readPage(RelTag rel, long block, long asOfLsn) {
        VersionList list = pages.get(rel, block);
        if (list == null) {
            return null;
        }
        Version v = asOfLsn == 0 ? list.latest() : list.asOf(asOfLsn);
        return v == null || v.tombstone() ? null : new StoredBlock(v.lsn(), bytesOf(v));
    }

    /** The latest bytes of a file block, or null if it is a hole. */
    public byte[] readFileBlock(long ino, long block) {
        VersionList list = fileBlocks.get(ino, block);
        Version v = list == null ? null : list.latest();
        return v == null || v.tombstone() ? null : bytesOf(v);
    }

    /** The highest live block of a relation, or -1. */
    public long lastRelBlock(RelTag rel) {
        return pages.lastLiveBlock(rel);
    }

    byte[] bytesOf(Version v) {
        byte[] data = v.data();
        return data != null ? data : segments.read(v.segment(), v.offset(), v.length());
    }

    public record StoredBlock(long lsn, byte[] data) {}

    /** Packs everything committed so far into a segment now (tests and shutdown use this). */
    public void packNow() throws IOException {
        packer.packOnce();
    }

    @Override
    public void close() throws IOException {
        if (packer != null) {
            packer.stop();
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            if (journal != null) {
                journal.close();
            }
        } catch (IOException e) {
            log.warn("closing journal: {}", e.toString());
        }
        segments.close();
        try {
            dirLock.release();
            lockChannel.close();
        } catch (IOException e) {
            log.warn("releasing cache directory lock: {}", e.toString());
        }
    }
}
