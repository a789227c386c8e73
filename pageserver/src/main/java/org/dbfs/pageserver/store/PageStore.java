package org.dbfs.pageserver.store;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.cli.RefusedStartException;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.lease.LeaseStore;
import org.dbfs.bucket.lease.ReaderLeases;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStoreException;
import org.dbfs.pageserver.format.BlockRangeDrop;
import org.dbfs.pageserver.format.FileBlockRecord;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.PackMark;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentRef;
import org.dbfs.pageserver.format.UnpackedWrites;
import org.dbfs.pageserver.journal.Journal;
import org.dbfs.pageserver.journal.JournalIdentity;
import org.dbfs.pageserver.namespace.Namespace;
import org.dbfs.pageserver.segment.SegmentStore;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.Lsn;
import org.lmdbjava.Txn;
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
 * <p>Read path: index lookup ({@link BlockIndex}: pinned in memory, cached, or on disk), then the
 * version's bytes from memory (unpacked) or the {@link SegmentStore}.
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
    private volatile java.util.function.LongConsumer durableWaits = nanos -> {};
    private final JournalData journalData; // unpacked versions' bytes
    final PackCuts cuts;
    private final PackedVersions packedVersions;
    final BlockIndex<RelTag> pages;
    final BlockIndex<Long> fileBlocks;
    final Namespace namespace = new Namespace();
    final ReentrantLock commitLock = new ReentrantLock();
    private final ReentrantReadWriteLock namespaceLock = new ReentrantReadWriteLock();
    final SegmentStore segments;
    final ManifestStore manifests;
    private final long incarnation = new SecureRandom().nextLong() & Long.MAX_VALUE;
    private final LeaseStore leases;
    private LeaseStore.Held lease;
    long writerGeneration;
    private String journalId;
    private boolean stopping; // guarded by commitLock
    private volatile boolean stoppingRequested;
    private final JournalRoom journalRoom;
    private volatile RuntimeException fenced;
    private final FileChannel lockChannel;
    private final FileLock dirLock;
    Journal journal;
    Manifest manifest;
    volatile long lastSeq;
    volatile long namespaceSeq; // last seq that changed the namespace
    volatile long maxPageLsn; // the highest pd_lsn written so far (pack marks map times to it)
    private final WriterEpoch writerEpoch = new WriterEpoch(); // mutations from older writers are refused
    volatile Horizon horizon = Horizon.NONE; // reads below it are refused: GC may have dropped what they need
    final InstantSource clock = Clock.systemUTC();
    final Readers readers;
    private Packer packer;
    private volatile SnapshotStore snapshots;
    private volatile BranchRegistry branches;

    private PageStore(ObjectStore store, FrameCodec codec, StoreOptions options, FileChannel lockChannel,
                      FileLock dirLock) throws IOException {
        this.store = store;
        this.codec = codec;
        this.options = options;
        this.lockChannel = lockChannel;
        this.dirLock = dirLock;
        this.segments = new SegmentStore(store, codec, options.segmentCacheDir(), options.memoryCacheBytes());
        this.manifests = new ManifestStore(store, codec);
        this.leases = new LeaseStore(store, codec, BucketLayout.WRITER_LEASE, clock, options.leaseTtl());
        this.readers = new Readers(this, new ReaderLeases(store, codec, clock));
        this.packedVersions = PackedVersions.create(options.versionIndexDir());
        this.journalData = new JournalData(options.recentWriteBytes());
        this.journalRoom = new JournalRoom(unpackedBytes, options.maxUnpackedBytes(), store.describe());
        // A pack holds its data in memory: one and a half pack thresholds at most, so a normal pack
        // (started once the threshold is passed) is one chunk.
        this.cuts = new PackCuts(options.packBytes() > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : options.packBytes() * 3 / 2);
        this.pages = new BlockIndex<>(packedVersions, "pages", PackedVersions.RELATIONS, false, unpackedBytes,
                options.cachedIndexBlocks());
        this.fileBlocks = new BlockIndex<>(packedVersions, "file-blocks", PackedVersions.INODES, true, unpackedBytes,
                options.cachedIndexBlocks());
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

    /**
     * Becomes the bucket's writer ({@link WriterClaim}: may refuse, having changed nothing), loads
     * the packed state, replays this journal's unpacked records, then marks the manifest as having
     * unpacked writes in this journal, before any write is acknowledged.
     */
    private void recover() throws IOException {
        Manifest loaded = manifests.load().orElse(Manifest.newBuilder().setFormatVersion(ManifestStore.FORMAT_VERSION).build());
        journalId = JournalIdentity.readOrCreate(options.journalDir());
        String cacheDir = options.cacheDir().toAbsolutePath().toString();
        lease = WriterClaim.claim(leases, loaded, new WriterClaim.Claimant(holderName(), journalId, cacheDir,
                options.acceptJournalLoss()), store.describe());
        writerGeneration = lease.generation();
        manifest = loaded;
        snapshots = new SnapshotStore(store, codec, writerGeneration);
        branches = new BranchRegistry(this);
        long loadStart = System.nanoTime();
        log.info("loading the version index from the footers of {} segments in {}", manifest.getSegmentsCount(), store.describe());
        long versions = 0;
        for (SegmentRef ref : manifest.getSegmentsList()) {
            versions += loadSegment(segments.register(ref));
        }
        log.info("version index loaded: {} versions in {} ms", versions, (System.nanoTime() - loadStart) / 1_000_000);
        if (!manifest.getNamespaceObject().isEmpty()) {
            namespace.load(NamespaceObjects.read(store, codec, manifest.getNamespaceObject()));
        }
        long packed = manifest.getPackedSeq();
        long namespacePacked = namespaceSeqOf(manifest);
        lastSeq = packed;
        horizon = new Horizon(manifest.getGcHorizonLsn(), manifest.getGcHorizonSeq(), "collected before this start");
        walMarks.load(manifest.getWalMarksTimeline(), manifest.getWalMarksList());
        for (PackMark m : manifest.getPackMarksList()) {
            maxPageLsn = Math.max(maxPageLsn, m.getMaxLsn());
        }
        namespaceSeq = namespacePacked;
        cuts.start(packed);
        // A bucket from before leases names no journal: its one writer's journal is this one.
        boolean ownsUnpacked = loaded.getWriterGeneration() == 0
                || (loaded.hasUnpacked() && loaded.getUnpacked().getJournal().equals(journalId));
        long[] foreign = new long[2]; // records above packed that the bucket does not expect from this journal; max seq
        journal = Journal.open(options.journalDir(), codec, options.journalRollBytes(), (record, where) -> {
            if (record.getSeq() > packed && !ownsUnpacked) {
                foreign[0]++;
                foreign[1] = Math.max(foreign[1], record.getSeq());
            } else if (record.getSeq() > namespacePacked && ownsUnpacked) {
                // Blocks above packed, namespace changes above the namespace object's seq (a chunked
                // pack may have moved blocks further than the namespace).
                apply(record, where, record.getSeq() > packed);
                lastSeq = Math.max(lastSeq, record.getSeq());
            }
        });
        if (foreign[0] > 0) {
            setAsideForeignJournal(foreign[0], packed, foreign[1]);
        }
        Manifest claimed = manifest.toBuilder().setFormatVersion(ManifestStore.FORMAT_VERSION)
                .setGeneration(manifest.getGeneration() + 1).setWriterGeneration(writerGeneration)
                .setUnpacked(UnpackedWrites.newBuilder().setJournal(journalId).setHolder(lease.lease().holder())
                        .setCacheDir(cacheDir).setSinceGeneration(writerGeneration))
                .build();
        try {
            manifests.commit(claimed);
        } catch (ManifestStore.ManifestConflictException e) {
            throw new RefusedStartException("the manifest of " + store.describe()
                    + " changed while this page server was starting: another page server is writing to it. " + e.getMessage());
        }
        manifest = claimed;
        lease.renewInBackground(lost -> fence(lost));
        if (namespace.isEmpty()) {
            long now = System.currentTimeMillis() * 1_000_000L;
            commit(JournalRecord.newBuilder().addPutInodes(org.dbfs.pageserver.format.InodeRecord.newBuilder()
                    .setIno(Namespace.ROOT_INO).setType(org.dbfs.pageserver.namespace.NodeTypes.DIRECTORY)
                    .setMode(0755).setNlink(2).setAtimeNs(now).setMtimeNs(now).setCtimeNs(now)), true);
        }
        log.info("page store open: bucket={} writer generation={} journal={} segments={} packedSeq={} lastSeq={} inodes={}",
                store.describe(), writerGeneration, journalId, segments.count(), packed, lastSeq, namespace.inodeCount());
        packer = new Packer(this);
        packer.start();
    }

    /**
     * This journal holds records the bucket has moved past without it (an operator accepted its loss
     * and another writer went on): replaying them would mix two histories. They are moved aside,
     * never deleted, and never served.
     */
    private void setAsideForeignJournal(long records, long packed, long maxSeq) throws IOException {
        journal.close();
        Path aside = options.cacheDir().resolve("journal-set-aside-" + System.currentTimeMillis());
        Files.createDirectories(aside);
        try (Stream<Path> files = Files.list(options.journalDir())) {
            for (Path f : files.filter(f -> !f.getFileName().toString().equals(JournalIdentity.FILE_NAME)).toList()) {
                Files.move(f, aside.resolve(f.getFileName()));
            }
        }
        log.warn("journal {} holds {} records (seq up to {}) above the bucket's packed seq {} that the bucket does not"
                + " expect from it (their loss was accepted and another writer went on); moved them to {} unreplayed",
                journalId, records, maxSeq, packed, aside);
        journal = Journal.open(options.journalDir(), codec, options.journalRollBytes(), (record, where) -> {});
    }

    private static String holderName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown-host";
        }
        return host + "/" + ProcessHandle.current().pid();
    }

    /**
     * This page server is no longer the bucket's writer (its lease or manifest was taken over): every
     * write, acknowledged or waiting, fails from now on. The journal stays on disk.
     */
    void fence(RuntimeException cause) {
        if (fenced != null) {
            return;
        }
        fenced = cause;
        log.error("this page server is no longer the writer of {}; refusing every write from now on: {}",
                store.describe(), cause.getMessage());
        journal.fail(new IOException("this page server is no longer the writer of " + store.describe()
                + " (" + cause.getMessage() + "); writes are refused, and its journal stays in " + options.journalDir(), cause));
    }

    /** Non-null once this page server was replaced as the bucket's writer. */
    public RuntimeException fenced() {
        return fenced;
    }

    public long writerGeneration() {
        return writerGeneration;
    }

    /** Puts a segment's versions into the version index; returns how many. */
    private int loadSegment(int id) {
        try (Txn<ByteBuffer> txn = packedVersions.write()) {
            List<SegmentEntry> entries = segments.loadFooter(id).getEntriesList();
            for (SegmentEntry e : entries) {
                Version v = e.getTombstone() ? new Version(Version.NO_LSN, e.getSeq(), null, id, 0, 0, true)
                        : Version.packed(e.getLsn(), e.getSeq(), id, e.getOffset(), e.getLength());
                if (e.hasRel()) {
                    pages.loadPacked(txn, RelTagRecords.of(e.getRel()), e.getBlock(), v);
                } else {
                    fileBlocks.loadPacked(txn, e.getIno(), e.getBlock(), v);
                }
            }
            txn.commit();
            return entries.size();
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

    /** Bytes of unpacked page data held in memory now (the rest is read back from the journal). */
    long recentWriteBytes() {
        return journalData.bytesInMemory();
    }

    public int segmentCount() {
        return segments.count();
    }

    public String bucket() {
        return store.describe();
    }

    /** Readers' claims on history (a replica's B). */
    /** The bucket's data-directory snapshots (time travel). */
    public SnapshotStore snapshots() {
        return snapshots;
    }

    /** The bucket's branches and the pins they hold on its history. */
    public BranchRegistry branches() {
        return branches;
    }

    public Readers readers() {
        return readers;
    }

    public ReentrantReadWriteLock namespaceLock() {
        return namespaceLock;
    }

    /**
     * A page as WAL redo up to an LSN leaves it (GetPage@LSN), for reads on a branched timeline
     * (see {@link #setHistoricReader}).
     */
    public interface HistoricReader {
        /** @return the page, or null if it does not exist at {@code lsn} */
        StoredBlock read(RelTag rel, long block, long lsn);
    }

    private volatile HistoricReader historic;
    /** Where the current timeline's writer wrote WAL, for a promotion's cut. */
    final WalWriteMarks walMarks = new WalWriteMarks();
    /** The end of WAL durable at the WAL service: the horizon never passes it (-1: no WAL service). */
    volatile java.util.function.LongSupplier collectionBound = () -> -1L;

    /**
     * How the writer of a branched timeline reads a page it has not written itself: as of the branch
     * LSN through WAL redo, not as the newest stored version at or below it. The old primary may
     * never have written out the page's last changes before the branch (they were in its buffers
     * when it died); the standby that became this writer replayed them, and may have evicted the
     * page since (a read-only mount drops page writes). Without a WAL service the stored version is
     * all there is. Never under the commit lock (a partial-page write reads the page it patches
     * there): a call to the WAL service must not hold up every writer.
     */
    public void setHistoricReader(HistoricReader reader) {
        this.historic = reader;
    }

    /**
     * Where WAL durable at the WAL service ends, asked before each collection: a failover
     * branches the next timeline there or later and reads this one as of that LSN, so no version
     * such a read needs may be collected. Versions past it may be the lost WAL's (see {@link Horizon}).
     */
    public void setCollectionBound(java.util.function.LongSupplier durableWalEnd) {
        this.collectionBound = durableWalEnd;
    }

    /** The timelines up to the current one (readable without a lock). */
    public Timelines timelines() {
        return namespace.timelines();
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
        journalRoom.await(() -> packer.wake(), () -> fenced != null || stoppingRequested);
        JournalRecord.Builder record = JournalRecord.newBuilder();
        commitLock.lock();
        try {
            if (stopping) {
                throw new IOException("the page server is stopping; the write was not acknowledged");
            }
            if (WriterEpoch.CALLER.isBound()) {
                checkEpoch(WriterEpoch.CALLER.get());
            }
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

    /** Refuses a writer (or a Sync) of an epoch older than the cluster's; see {@link WriterEpoch#check}. */
    public void checkEpoch(long epoch) {
        writerEpoch.check(epoch);
    }

    /**
     * Raises the cluster's epoch as this page server knows it. Returns after every mutation admitted
     * under an older epoch has been applied (they hold the commit lock), so none lands after this.
     */
    public void raiseEpoch(long epoch) {
        commitLock.lock();
        try {
            long before = writerEpoch.current();
            if (writerEpoch.raise(epoch)) {
                log.info("writer epoch {} -> {}: writes from older epochs are refused from now on", before, epoch);
            }
        } finally {
            commitLock.unlock();
        }
    }

    /**
     * What to do once a journal fsync failed; the journal then refuses every later write for good.
     * The page server process exits (pageserver's command line), so that a supervisor restarts it
     * and journal replay recovers what was acknowledged.
     */
    public void onJournalFsyncFailure(java.util.function.Consumer<IOException> action) {
        journal.onFsyncFailure(action);
    }

    /** Test seam: the journal forces its files with {@code forcer} from now on (a disk that counts or fails fsyncs). */
    public void forceJournalWith(Journal.Forcer forcer) {
        journal.forceWith(forcer);
    }

    /** The retention horizon's LSN: reads as of an older LSN are refused (0: nothing collected yet). */
    public long horizonLsn() {
        return horizon.lsn();
    }

    /** The retention horizon with why it is there, for messages. */
    public String horizonDescription() {
        return horizon.toString();
    }

    public long epoch() {
        return writerEpoch.current();
    }

    /** Writes and Syncs refused for a stale epoch since start. */
    public long staleEpochRefusals() {
        return writerEpoch.refusals();
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
        return timed(journal.whenDurable(token));
    }

    /** Returns once the journal is durable up to {@code token}, fsyncing on this thread if no fsync is under way. */
    public void awaitDurable(long token) throws IOException {
        long start = System.nanoTime();
        journal.awaitDurable(token);
        durableWaits.accept(System.nanoTime() - start);
    }

    /** Returns once every commit acknowledged so far is durable (see {@link #awaitDurable}). */
    public void awaitAllDurable() throws IOException {
        awaitDurable(journal.appendedBytes());
    }

    /** Completes when every commit acknowledged so far is durable. */
    public CompletableFuture<Void> whenAllDurable() {
        return timed(journal.whenDurable(journal.appendedBytes()));
    }

    /**
     * Hears how long each durable write or Sync waited for the journal's fsync, in nanoseconds: the
     * page server's share of a commit's latency (metrics and the status page's commit plot).
     */
    public void onDurableWait(java.util.function.LongConsumer observer) {
        this.durableWaits = observer;
    }

    private CompletableFuture<Void> timed(CompletableFuture<Void> wait) {
        if (wait.isDone()) {
            durableWaits.accept(0);
            return wait;
        }
        long start = System.nanoTime();
        return wait.whenComplete((v, e) -> durableWaits.accept(System.nanoTime() - start));
    }

    /** Returns once every commit acknowledged so far is durable. */
    public void sync() throws IOException {
        journal.sync();
    }

    /** The packer moved versions into the bucket: writes held back for room may go on. */
    void packed() {
        journalRoom.packed();
    }

    private long appendAndApply(JournalRecord.Builder record) throws IOException {
        long seq = lastSeq + 1;
        record.setSeq(seq);
        JournalRecord built = record.build();
        Journal.Appended appended = journal.append(built);
        lastSeq = seq;
        apply(built, appended.location(), true);
        return appended.token();
    }

    private static boolean isEmpty(JournalRecord.Builder r) {
        return r.getPagesCount() == 0 && r.getFileBlocksCount() == 0 && r.getPutInodesCount() == 0
                && r.getDropInodesCount() == 0 && r.getPutDirentsCount() == 0 && r.getDeleteDirentsCount() == 0
                && r.getRelDropsCount() == 0 && r.getFileDropsCount() == 0 && !r.hasTimelineStart();
    }

    /**
     * Applies a journaled record at {@code where} to the namespace and, if {@code blocks}, to the
     * index: drops first, then new versions, whose data stays in the journal (and, while it fits,
     * in the cache of recent writes).
     */
    private void apply(JournalRecord r, Journal.Location where, boolean blocks) {
        long seq = r.getSeq();
        if (blocks) {
            applyBlocks(r, where, seq);
        }
        if (r.getPutInodesCount() + r.getPutDirentsCount() + r.getDeleteDirentsCount() + r.getDropInodesCount() > 0
                || r.getNextIno() != 0 || r.hasTimelineStart()) {
            namespaceLock.writeLock().lock();
            try {
                namespace.apply(r);
            } finally {
                namespaceLock.writeLock().unlock();
            }
            if (r.hasTimelineStart()) {
                // Pack marks (and so the time-based horizon) follow the new timeline's LSNs, not the
                // old primary's versions beyond the branch, which no read sees.
                maxPageLsn = r.getTimelineStart().getBranchLsn();
            }
            namespaceSeq = seq;
        }
        if (packer != null && unpackedBytes.get() > options.packBytes()) {
            packer.wake();
        }
    }

    private void applyBlocks(JournalRecord r, Journal.Location where, long seq) {
        long ownSince = namespace.timelines().currentStartSeq();
        for (BlockRangeDrop d : r.getRelDropsList()) {
            pages.drop(RelTagRecords.of(d.getRel()), d.getFromBlock(), d.getToBlock(), seq, ownSince);
        }
        for (BlockRangeDrop d : r.getFileDropsList()) {
            fileBlocks.drop(d.getIno(), d.getFromBlock(), d.getToBlock(), seq, 0);
        }
        long bytes = 0;
        long walRoseAt = walMarks.lastSeq(); // a rewrite keeps a version from before the WAL went further
        for (int i = 0; i < r.getPagesCount(); i++) {
            PageVersionRecord p = r.getPages(i);
            if (Long.compareUnsigned(p.getLsn(), maxPageLsn) > 0) {
                maxPageLsn = p.getLsn();
            }
            JournalSlot slot = new JournalSlot(where, false, i);
            journalData.written(slot, p.getData().toByteArray());
            pages.put(RelTagRecords.of(p.getRel()), Integer.toUnsignedLong(p.getBlockNum()),
                    Version.inJournal(p.getLsn(), seq, slot, p.getData().size()), walRoseAt);
            bytes += p.getData().size();
        }
        for (int i = 0; i < r.getFileBlocksCount(); i++) {
            FileBlockRecord b = r.getFileBlocks(i);
            String walSegment = namespace.walSegmentName(b.getIno());
            if (walSegment != null) {
                InodeRecord inode = namespace.inode(b.getIno());
                walMarks.segmentWritten(walSegment, inode == null ? 0 : inode.getSize(), namespace.timelines().current().timeline(),
                        b.getBlock(), b.getData(), seq);
            }
            JournalSlot slot = new JournalSlot(where, true, i);
            journalData.written(slot, b.getData().toByteArray());
            fileBlocks.put(b.getIno(), b.getBlock(), Version.inJournal(0, seq, slot, b.getData().size()));
            bytes += b.getData().size();
        }
        cuts.appended(seq, bytes, maxPageLsn);
    }

    /**
     * A read of the parent as of the current timeline's branch LSN: what the new writer reads for
     * every block it has not written yet (see {@link #setHistoricReader}). Collection keeps what it
     * needs whatever the horizon, since it keeps the newest version each block's history on this
     * timeline has at or below the horizon ({@link Timelines#needed}).
     */
    private boolean isBranchRead(long asOfLsn) {
        Timelines t = namespace.timelines();
        return !t.isFirst() && asOfLsn == t.current().branchLsn();
    }

    /**
     * A page as of {@code asOfLsn} (0 = latest written), or null if absent.
     *
     * @throws BeforeHorizonException if {@code asOfLsn} is below the retention horizon
     */
    public StoredBlock readPage(RelTag rel, long block, long asOfLsn) {
        Horizon h = horizon;
        if (asOfLsn != 0 && Long.compareUnsigned(asOfLsn, h.lsn()) < 0 && !isBranchRead(asOfLsn)) {
            throw new BeforeHorizonException("LSN " + Lsn.format(asOfLsn) + " is before the retention horizon "
                    + h + ": versions older than it were collected. Read at an LSN at or after it, or start the"
                    + " page server with a longer --retention before the history is needed");
        }
        for (int attempt = 1; ; attempt++) {
            VersionList list = pages.get(rel, block);
            if (list == null) {
                Timelines t = namespace.timelines();
                // Never written here, but WAL up to the branch may have created it (a page the old
                // primary extended and never wrote out).
                return asOfLsn == 0 && historic != null && !t.isFirst() && !commitLock.isHeldByCurrentThread()
                        ? historic.read(rel, block, t.current().branchLsn()) : null;
            }
            Timelines t = namespace.timelines();
            Version[] versions = list.snapshot();
            if (asOfLsn == 0 && historic != null && !t.ownsLatest(versions) && !commitLock.isHeldByCurrentThread()) {
                return historic.read(rel, block, t.current().branchLsn());
            }
            Version v = asOfLsn == 0 ? t.latest(versions) : t.asOf(versions, asOfLsn);
            if (v == null || v.tombstone()) {
                return null;
            }
            try {
                return new StoredBlock(v.lsn(), bytesOf(v));
            } catch (Journal.RecordGoneException e) {
                failIfStillThere(e, attempt);
            }
        }
    }

    /**
     * A page as branch {@code pin} reads it from this store: the newest version visible at its
     * X_end among those written before its cut, or null. Never refused for the horizon: collection
     * keeps exactly this version while the pin lives.
     */
    public StoredBlock readPinned(RelTag rel, long block, BranchPin pin) {
        for (int attempt = 1; ; attempt++) {
            VersionList list = pages.get(rel, block);
            Version v = list == null ? null : pin.version(list.snapshot(), namespace.timelines());
            if (v == null) {
                return null;
            }
            try {
                return new StoredBlock(v.lsn(), bytesOf(v));
            } catch (Journal.RecordGoneException e) {
                failIfStillThere(e, attempt);
            }
        }
    }

    /** The latest bytes of a file block, or null if it is a hole. */
    public byte[] readFileBlock(long ino, long block) {
        for (int attempt = 1; ; attempt++) {
            VersionList list = fileBlocks.get(ino, block);
            Version v = list == null ? null : list.latest();
            if (v == null || v.tombstone()) {
                return null;
            }
            try {
                return bytesOf(v);
            } catch (Journal.RecordGoneException e) {
                failIfStillThere(e, attempt);
            }
        }
    }

    /**
     * A journal file goes only after all its versions were packed, so a version read from it a
     * moment before is in a segment by now: looking it up again finds it there. Failing that
     * twice, the record is unreadable where it should be.
     */
    private void failIfStillThere(Journal.RecordGoneException e, int attempt) {
        if (attempt >= 3) {
            throw new IntegrityException("an unpacked write's journal record cannot be read back: " + e.getMessage()
                    + ". The journal in " + options.journalDir() + " is damaged; keep a copy of it for inspection", e);
        }
    }

    byte[] bytesOf(Version v) throws Journal.RecordGoneException {
        JournalSlot slot = v.unpacked();
        if (slot == null) {
            return segments.read(v.segment(), v.offset(), v.length());
        }
        segments.reads().journalRead();
        return journalData.read(journal, slot);
    }

    /** The data of unpacked versions, for the packer (see {@link JournalData#forPack}). */
    byte[][] unpackedData(List<VersionRef> refs) throws IOException {
        return journalData.forPack(journal, refs);
    }

    /** Where the namespace object's changes end: older manifests have no separate field. */
    static long namespaceSeqOf(Manifest m) {
        return m.getNamespaceSeq() != 0 ? m.getNamespaceSeq() : m.getPackedSeq();
    }

    public record StoredBlock(long lsn, byte[] data) {}

    /** What one pack moved into the bucket: journal records {@code fromSeq..toSeq}, as {@code versions} versions. */
    public record Packed(long fromSeq, long toSeq, int versions, String segment) {
        static final Packed NOTHING = new Packed(0, 0, 0, null);
    }

    /** Packs everything committed so far into a segment now (tests use this). */
    public void packNow() throws IOException {
        packer.packOnce(false);
    }

    /** Where page and file-block reads were served from since start (the metrics' cache hit ratios). */
    public org.dbfs.pageserver.segment.ReadCounts readCounts() {
        return segments.reads();
    }

    /** The segment objects the manifest names: how many, and their bytes. */
    public long segmentBytes() {
        return segments.bytes();
    }

    /** Acknowledged writes' bytes in the journal not yet packed into the bucket. */
    public long unpackedBytes() {
        return unpackedBytes.get();
    }

    /** What garbage collection has done since start. */
    public GarbageCollector.Totals gcTotals() {
        return packer.gcTotals();
    }

    /** Runs one garbage collection now; returns the totals since start. */
    public GarbageCollector.Totals collectGarbage() throws IOException {
        return packer.collectGarbage();
    }


    /**
     * The clean stop: refuses new writes, packs every acknowledged one into the bucket, marks the
     * manifest as having no unpacked writes and releases the writer lease, so that the bucket alone
     * serves exactly the last acknowledged state. Retries an unreachable bucket for
     * {@code drainTimeout}; failing that, the journal keeps the writes and the manifest keeps naming
     * it, so a later start refuses to rewind.
     *
     * @return what the final pack did, for the log
     */
    public Packed drain() throws IOException {
        if (journal.failed()) {
            // Records after the last good fsync may not be what was written: replay from the disk sorts them out.
            throw new IOException("not packing into " + store.describe() + ": the journal in " + options.journalDir()
                    + " failed (an fsync); start the page server again with this --cache-dir, and journal replay restores"
                    + " every acknowledged write");
        }
        commitLock.lock();
        try {
            stopping = true;
        } finally {
            commitLock.unlock();
        }
        stoppingRequested = true;
        packed(); // wakes writers held back for room: they fail now
        packer.stop();
        if (fenced != null) {
            throw new IOException("not draining into " + store.describe() + ": this page server was replaced as its"
                    + " writer (" + fenced.getMessage() + "); its journal stays in " + options.journalDir(), fenced);
        }
        long deadline = System.nanoTime() + options.drainTimeout().toNanos();
        long backoffMs = 500;
        Packed packed;
        while (true) {
            try {
                packed = packer.packOnce(true);
                break;
            } catch (ManifestStore.ManifestConflictException e) {
                fence(e);
                throw new IOException(e.getMessage(), e);
            } catch (ObjectStoreException | IOException e) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("the clean stop could not pack into " + store.describe() + " within "
                            + options.drainTimeout().toSeconds() + " s (" + e.getMessage() + "). Nothing is lost: the"
                            + " writes after journal seq " + manifest.getPackedSeq() + " stay in journal " + journalId
                            + " in " + options.journalDir() + ", and the bucket says so; start the page server again"
                            + " with this --cache-dir once the bucket is reachable", e);
                }
                log.warn("clean stop: packing into {} failed, retrying in {} ms: {}", store.describe(), backoffMs, e.getMessage());
                sleepQuietly(backoffMs);
                backoffMs = Math.min(backoffMs * 2, 5_000);
            }
        }
        lease.release();
        return packed;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        packedVersions.close();
        if (lease != null) {
            lease.close();
        }
        try {
            dirLock.release();
            lockChannel.close();
        } catch (IOException e) {
            log.warn("releasing cache directory lock: {}", e.toString());
        }
    }
}
