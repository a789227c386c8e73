package org.dbfs.pageserver.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.pageserver.format.JournalRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page server's local durable log: a write is acknowledged once its record is here and
 * fsynced, long before it is packed into a segment object.
 *
 * <pre>
 * journal file  NNNNNNNNNNNNNNNNNNNN.crc.journal   (20-digit seq of its first record)
 *   +-------------------+--------------------+--------------------------------------------+
 *   | frameLength (u32) | CRC32C(file name,  | frame = AES-GCM seal(JournalRecord,         |  ... repeated
 *   |                   |   frameLength)     |   AD = (file name, position of frame))     |
 *   +-------------------+--------------------+--------------------------------------------+
 * </pre>
 *
 * The frame's authentication tag checks the frame, the CRC the length in front of it (see
 * {@link FrameHeader}). Eight zero bytes end the records, and every append writes them after its
 * frame (the next append overwrites them). Files of older formats, with a bare length in front of
 * each frame, still replay ({@link JournalFormat}); new records always go to a current-format file.
 *
 * <p>A file's blocks are written before records go there, so that the fdatasync of a commit
 * writes data only and never has to journal a new file size or extent (on ext4 that halves it): a
 * new file is preallocated with zeros in {@value #EXTENT_BYTES}-byte steps, the next step zeroed
 * on a background thread once the current one is half used (appends wait only if writes outrun
 * it). Zeroing doubles what reaches the disk, so a packed file is kept as a spare
 * ({@value #MAX_SPARES} at most) and the next file reuses it, as PostgreSQL recycles WAL segments:
 * its old frames do not open under the new name's key, their headers fail their CRCs under the new
 * name, and the end marker written after each record keeps them from ever following a good one.
 * At open, the last file may end in a torn frame (a write that was never acknowledged); it is cut
 * off. A bad frame, or the end of the records, with an intact frame anywhere after it, or a bad
 * frame in an older file, is corruption and stops the start ({@link FileReplay}).
 *
 * <p>Group commit: {@link #append} only writes; {@link #awaitDurable} makes one caller fsync for
 * everyone waiting, so concurrent writers share one fsync. A failed fsync fails the journal for
 * good: after it the kernel may have dropped dirty pages, and nothing written since can be trusted.
 *
 * <p>Thread-safe.
 */
public final class Journal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Journal.class);
    /** A packed file kept for reuse: {@code <its name>.spare}. */
    private static final String SPARE_SUFFIX = ".spare";
    static final int EXTENT_BYTES = 8 << 20;
    static final int MAX_SPARES = 2;

    private final Path dir;
    private final FrameCodec codec;
    private final long rollBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition synced = lock.newCondition();
    private final Condition syncWanted = lock.newCondition();
    private final Condition extended = lock.newCondition();
    private final List<Waiter> waiters = new ArrayList<>();
    private final ConcurrentHashMap<String, Reader> readers = new ConcurrentHashMap<>(); // for read()

    /** An open file and how to read its frames, kept for {@link #read} until the file is retired. */
    private record Reader(FileChannel channel, JournalFile file) {}
    private final Thread syncThread = new Thread(this::syncLoop, "journal-sync");
    private boolean closing;

    private FileChannel channel;
    private JournalFile current;
    private long filePosition; // end of the last record in the current file
    private long allocated;    // bytes of the current file already filled with zeros and synced
    private long written;      // logical bytes appended since open, across files
    private long durable;      // logical bytes known fsynced
    private boolean syncing;
    private boolean extending; // a background thread is zeroing [allocated, allocated + EXTENT_BYTES)
    /** Set once, never cleared: the journal refuses everything after (see {@link #force}). */
    private final java.util.concurrent.atomic.AtomicReference<IOException> failure = new java.util.concurrent.atomic.AtomicReference<>();
    /** One force of a journal file at a time (see {@link #force}); never held while taking {@link #lock}. */
    private final ReentrantLock forceLock = new ReentrantLock();
    private volatile java.util.function.Consumer<IOException> onFsyncFailure = e -> { };
    /** How a file is forced: FileChannel.force, or a test's failing one ({@link #forceWith}). */
    public interface Forcer {
        void force(FileChannel ch, boolean metaData) throws IOException;
    }
    private volatile Forcer forcer = FileChannel::force;
    private long endOfRecords; // set by replay: where the last file's records end

    private Journal(Path dir, FrameCodec codec, long rollBytes) {
        this.dir = dir;
        this.codec = codec;
        this.rollBytes = rollBytes;
    }

    /**
     * Opens the journal in {@code dir}, handing every intact record, in order, with where it is, to
     * {@code replay}.
     *
     * @param nextSeq the seq the next appended record will have if the journal is empty
     */
    public static Journal open(Path dir, FrameCodec codec, long rollBytes, BiConsumer<JournalRecord, Location> replay)
            throws IOException {
        Files.createDirectories(dir);
        Journal journal = new Journal(dir, codec, rollBytes);
        journal.syncThread.setDaemon(true);
        List<Path> files = journal.files();
        long lastSeq = -1;
        for (int i = 0; i < files.size(); i++) {
            lastSeq = Math.max(lastSeq, journal.replayFile(files.get(i), i == files.size() - 1, replay));
        }
        if (files.isEmpty()) {
            journal.startFile(0);
        } else if (JournalFormat.of(files.getLast().getFileName().toString()) != JournalFormat.CURRENT) {
            journal.startAfterOlderFormat(files.getLast(), lastSeq);
        } else {
            Path last = files.getLast();
            journal.current = JournalFile.named(last.getFileName().toString(), codec);
            journal.channel = FileChannel.open(last, StandardOpenOption.WRITE);
            journal.filePosition = journal.endOfRecords;
            journal.allocated = journal.channel.size();
        }
        journal.syncThread.start();
        return journal;
    }

    /** Where a record is: its file and the position of its frame's header there. */
    public record Location(String file, long position) {}

    /** An appended record: the token to pass to {@link #awaitDurable}, and where it went. */
    public record Appended(long token, Location location) {}

    /** Appends a record (not yet durable). */
    public Appended append(JournalRecord record) throws IOException {
        byte[] plain = record.toByteArray();
        lock.lock();
        try {
            checkHealthy();
            if (filePosition >= rollBytes) {
                rollLocked(record.getSeq());
            }
            // Not compressed: the record lives here only until it is packed, and its pages are
            // compressed then; compressing twice cost the commit path a quarter of the page server's CPU.
            // AES-GCM: see GcmFrames.
            ByteBuffer buf = current.appendAt(filePosition, plain);
            int recordBytes = buf.remaining() - current.headerBytes(); // not the end marker: the next append overwrites it
            long start = filePosition;
            try {
                ensureAllocated(start + buf.remaining());
                while (buf.hasRemaining()) {
                    channel.write(buf, start + buf.position());
                }
            } catch (IOException e) {
                undoPartialWrite(start, buf.capacity(), e);
                throw describeWriteFailure(e);
            }
            filePosition += recordBytes;
            written += recordBytes;
            if (allocated - filePosition < EXTENT_BYTES / 2 && filePosition < rollBytes) {
                extendInBackground();
            }
            return new Appended(written, new Location(current.name(), start));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reads back the record at {@code where}: unpacked writes are not kept in memory. A file the
     * journal retired since (its records were packed) is a {@link RecordGoneException}; the caller
     * looks the version up again and finds it packed.
     */
    public JournalRecord read(Location where) throws IOException {
        Reader reader;
        try {
            reader = readers.computeIfAbsent(where.file(), name -> {
                try {
                    return new Reader(FileChannel.open(dir.resolve(name), StandardOpenOption.READ), JournalFile.named(name, codec));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw new RecordGoneException(where, e.getCause());
        }
        try {
            FileChannel ch = reader.channel();
            JournalRecord record = reader.file().readAt(ch, where.position(), ch.size());
            if (record == null) {
                throw new RecordGoneException(where, null); // a spare reused under another name since
            }
            return record;
        } catch (ClosedChannelException e) {
            throw new RecordGoneException(where, e);
        }
    }

    /** The record is no longer where it was: its file was retired once everything in it was packed. */
    public static final class RecordGoneException extends IOException {
        RecordGoneException(Location where, Throwable cause) {
            super("journal record " + where.file() + "@" + where.position() + " is gone (packed and retired)", cause);
        }
    }

    /**
     * Completes once every byte up to {@code token} is fsynced, or exceptionally if the journal
     * failed. The journal's sync thread completes it, so callers (gRPC event loops) never block.
     */
    public CompletableFuture<Void> whenDurable(long token) {
        lock.lock();
        try {
            if (failure.get() != null) {
                return CompletableFuture.failedFuture(failedJournal());
            }
            if (durable >= token) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            waiters.add(new Waiter(token, f));
            syncWanted.signal();
            return f;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns once every byte up to {@code token} is fsynced. The caller fsyncs itself when no fsync
     * is in progress (the leader) and otherwise waits for the one in progress, then looks again (a
     * follower): as PostgreSQL's XLogFlush does, so a blocking caller costs no hand-off to the sync
     * thread and back. Waiters of {@link #whenDurable} that the leader's fsync covers are completed too.
     */
    public void awaitDurable(long token) throws IOException {
        List<Waiter> ready = new ArrayList<>();
        IOException failed;
        lock.lock();
        try {
            while (true) {
                if (failure.get() != null) {
                    throw failedJournal();
                }
                if (durable >= token) {
                    return;
                }
                if (!syncing) {
                    break;
                }
                synced.awaitUninterruptibly();
            }
            fsyncLocked();
            collectReadyLocked(ready);
            failed = failure.get() == null ? null : failedJournal();
        } finally {
            lock.unlock();
        }
        complete(ready, failed);
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * Caller holds the lock and no fsync is in progress: fsyncs everything written so far, with the
     * lock released meanwhile (appends go on), and records the outcome.
     */
    private void fsyncLocked() {
        syncing = true;
        long target = written;
        FileChannel ch = channel;
        lock.unlock();
        IOException error = null;
        try {
            force(ch, false);
        } catch (IOException e) {
            error = e;
        } finally {
            lock.lock();
        }
        syncing = false;
        synced.signalAll();
        if (error == null && failure.get() == null) {
            durable = Math.max(durable, target); // no force failed before this one finished
        }
    }

    /** Caller holds the lock: moves the waiters the journal's state has answered to {@code ready}. */
    private void collectReadyLocked(List<Waiter> ready) {
        for (var it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (failure.get() != null || w.token() <= durable) {
                ready.add(w);
                it.remove();
            }
        }
    }

    /** Completes waiters, without the lock held (their continuations run here). */
    private static void complete(List<Waiter> ready, IOException failed) {
        for (Waiter w : ready) {
            if (failed == null) {
                w.future().complete(null);
            } else {
                w.future().completeExceptionally(failed);
            }
        }
    }

    /**
     * The sync thread: one fsync covers every waiter that arrived before it started (group
     * commit); waiters that arrive during it wait for the next.
     */
    private void syncLoop() {
        lock.lock();
        try {
            while (true) {
                while ((waiters.isEmpty() || syncing) && !closing) {
                    if (syncing) {
                        synced.awaitUninterruptibly(); // a leader's fsync (awaitDurable) may answer them
                    } else {
                        syncWanted.awaitUninterruptibly();
                    }
                    collectAnsweredLocked();
                }
                while (syncing) {
                    synced.awaitUninterruptibly();
                }
                if (waiters.isEmpty()) {
                    if (closing) {
                        return;
                    }
                    continue;
                }
                if (failure.get() == null) {
                    fsyncLocked();
                }
                collectAnsweredLocked();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Caller holds the lock: completes the waiters already answered (released while completing). */
    private void collectAnsweredLocked() {
        List<Waiter> ready = new ArrayList<>();
        collectReadyLocked(ready);
        if (ready.isEmpty()) {
            return;
        }
        IOException failed = failure.get() == null ? null : failedJournal();
        lock.unlock();
        try {
            complete(ready, failed);
        } finally {
            lock.lock();
        }
    }

    private record Waiter(long token, CompletableFuture<Void> future) {}

    /** Makes everything appended so far durable. */
    public void sync() throws IOException {
        long token;
        lock.lock();
        try {
            token = written;
        } finally {
            lock.unlock();
        }
        awaitDurable(token);
    }

    /**
     * Starts a new file whose first record will be {@code nextSeq}, so that the files before it
     * can be deleted once everything below {@code nextSeq} is packed.
     */
    public void roll(long nextSeq) throws IOException {
        lock.lock();
        try {
            checkHealthy();
            if (filePosition > 0) {
                rollLocked(nextSeq);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Retires the files all of whose records are at or below {@code packedSeq}: kept as spares for
     * later files while there are fewer than {@value #MAX_SPARES}, else deleted.
     */
    public void deleteUpTo(long packedSeq) throws IOException {
        lock.lock();
        try {
            List<Path> files = files();
            for (int i = 0; i + 1 < files.size(); i++) {
                long nextFirst = firstSeq(files.get(i + 1));
                if (nextFirst <= packedSeq + 1 && !files.get(i).getFileName().toString().equals(current.name())) {
                    retire(files.get(i));
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * A crash may lose the rename; the file then comes back under its old name, with records the
     * page store skips as packed, as it would if a delete were lost.
     */
    private void retire(Path file) throws IOException {
        String name = file.getFileName().toString();
        Reader reader = readers.remove(name);
        if (reader != null) {
            reader.channel().close(); // a read in flight gets ClosedChannelException: RecordGoneException
        }
        if (JournalFormat.of(name).reusable() && spares().size() < MAX_SPARES) {
            Files.move(file, dir.resolve(name + SPARE_SUFFIX), StandardCopyOption.ATOMIC_MOVE);
        } else {
            Files.delete(file);
        }
    }

    /**
     * Fails the journal for good with {@code cause}: every later append and durability wait, and
     * every one pending now, gets an error, even for records an fsync in flight makes durable. For
     * a writer that learned it was replaced; what is on disk stays there for a restart.
     */
    public void fail(IOException cause) {
        failure.compareAndSet(null, cause);
        failWaiters();
    }

    /** The token that covers everything appended so far. */
    public long appendedBytes() {
        lock.lock();
        try {
            return written;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            closing = true;
            syncWanted.signal();
        } finally {
            lock.unlock();
        }
        try {
            syncThread.join(30_000); // it finishes the waiters it has first
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            while (syncing) {
                synced.awaitUninterruptibly(); // a caller's own fsync (awaitDurable) on this channel
            }
            for (Reader reader : readers.values()) {
                reader.channel().close();
            }
            readers.clear();
            if (channel != null && channel.isOpen()) {
                awaitExtension();
                if (failure.get() == null) {
                    force(channel, false);
                }
                channel.close();
            }
        } finally {
            lock.unlock();
        }
    }

    private void rollLocked(long nextSeq) throws IOException {
        while (syncing) {
            synced.awaitUninterruptibly(); // the sync thread or a caller's own fsync is using this channel
        }
        awaitExtension(); // and so may the preallocating thread
        force(channel, false);
        durable = written;
        channel.close();
        startFile(nextSeq);
    }

    /**
     * The last file is of an older format: records go to a new file from now on, so that every
     * new one has a checked header. One with no records in it is replaced, keeping its first seq.
     */
    private void startAfterOlderFormat(Path last, long lastSeq) throws IOException {
        if (endOfRecords == 0) {
            Files.delete(last); // before the new file exists: two files may not start at one seq
            startFile(firstSeq(last));
        } else {
            startFile(lastSeq + 1);
        }
    }

    private void startFile(long firstSeq) throws IOException {
        current = JournalFile.named(String.format("%020d%s", firstSeq, JournalFormat.CURRENT.suffix), codec);
        Path path = dir.resolve(current.name());
        List<Path> spares = spares();
        if (spares.isEmpty()) {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            channel.truncate(0);
            allocated = 0;
        } else {
            Files.move(spares.getFirst(), path, StandardCopyOption.ATOMIC_MOVE);
            channel = FileChannel.open(path, StandardOpenOption.WRITE);
            allocated = channel.size(); // zeroed, written and synced, size included, when it was first used
            zeroRange(channel, 0, current.headerBytes()); // no records yet, whatever its old frames say
            force(channel, false);
        }
        filePosition = 0;
        ensureAllocated(current.headerBytes());
        // The new name must survive a crash before any record in it is acknowledged.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            force(d, true);
        }
    }

    /**
     * Fills the file with zeros up to at least {@code end} and makes that durable, size included,
     * so later fdatasyncs of records in it need not change metadata.
     */
    private void ensureAllocated(long end) throws IOException {
        if (end > allocated) {
            awaitExtension();
        }
        if (end <= allocated) {
            return;
        }
        long target = Math.max(end, allocated + EXTENT_BYTES);
        zeroRange(channel, allocated, target);
        force(channel, true);
        allocated = target;
    }

    /** Caller holds the lock: starts zeroing the next extent on its own thread, unless one is. */
    private void extendInBackground() {
        if (extending) {
            return;
        }
        extending = true;
        FileChannel ch = channel;
        long from = allocated;
        long to = from + EXTENT_BYTES;
        Thread.ofPlatform().daemon().name("journal-preallocate").start(() -> {
            IOException error = null;
            boolean forceFailed = false;
            try {
                zeroRange(ch, from, to);
                try {
                    force(ch, true);
                } catch (IOException e) {
                    forceFailed = true; // the journal is poisoned: the writeback error may be any record's
                    throw e;
                }
            } catch (IOException e) {
                error = e;
            }
            if (forceFailed) {
                failWaiters();
            }
            lock.lock();
            try {
                if (error != null && !forceFailed) {
                    // Not fatal: the append that needs the room zeroes it itself, and reports.
                    log.warn("journal: preallocating {} beyond {} failed: {}", current.name(), from, error.toString());
                } else if (error == null && channel == ch && allocated == from) {
                    allocated = to;
                }
                extending = false;
                extended.signalAll();
            } finally {
                lock.unlock();
            }
        });
    }

    /** Caller holds the lock: waits for a background preallocation to finish. */
    private void awaitExtension() {
        while (extending) {
            extended.awaitUninterruptibly();
        }
    }

    private static void zeroRange(FileChannel ch, long from, long to) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        for (long pos = from; pos < to; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), to - pos));
            pos += ch.write(zeros, pos);
        }
    }

    private void undoPartialWrite(long start, int length, IOException cause) {
        try {
            // Zero what the failed write may have left, so replay stops at start.
            zeroRange(channel, start, Math.max(start + current.headerBytes(), Math.min(allocated, start + length)));
        } catch (IOException e) {
            cause.addSuppressed(e);
            failure.compareAndSet(null, cause);
        }
    }

    private IOException describeWriteFailure(IOException e) {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("No space left")) {
            return new JournalFullException("journal write failed: no space left on the device holding " + dir
                    + "; the write was not acknowledged. Free space and retry.", e);
        }
        return new IOException("journal write failed in " + dir + ": " + msg + "; the write was not acknowledged", e);
    }

    private void checkHealthy() throws IOException {
        if (failure.get() != null) {
            throw failedJournal();
        }
    }

    private IOException failedJournal() {
        IOException f = failure.get();
        return new IOException("journal in " + dir + " failed earlier (" + f.getMessage()
                + "); restart the page server to recover from its durable state", f);
    }

    /**
     * Every force of a journal file or directory goes through here, one at a time, and a failed
     * one poisons the journal for good before the next can start. Linux reports a writeback error
     * to one fsync of a file only: a later fsync, or one running beside the failed one, could
     * succeed over pages that never reached the disk. So no force after a failed one counts
     * ({@link #fsyncLocked} checks), and every later write and durability wait fails.
     */
    private void force(FileChannel ch, boolean metaData) throws IOException {
        forceLock.lock();
        try {
            forcer.force(ch, metaData);
        } catch (IOException e) {
            if (failure.compareAndSet(null, e)) {
                log.error("journal fsync failed in {}: refusing every later write; restart the page server, which recovers"
                        + " what was acknowledged from the journal", dir, e);
                onFsyncFailure.accept(e);
            }
            throw e;
        } finally {
            forceLock.unlock();
        }
    }

    /** What to do once an fsync failed, besides refusing every later write (the page server exits for a restart). */
    public void onFsyncFailure(java.util.function.Consumer<IOException> action) {
        this.onFsyncFailure = action;
    }

    /** Test seam: forces files with {@code f} from now on (a disk that fails an fsync). */
    public void forceWith(Forcer f) {
        this.forcer = f;
    }

    /** Whether the journal failed for good (an fsync, or {@link #fail}). */
    public boolean failed() {
        return failure.get() != null;
    }

    /** Answers every waiter now that the journal failed. Caller does not hold the lock. */
    private void failWaiters() {
        List<Waiter> ready = new ArrayList<>();
        IOException failed;
        lock.lock();
        try {
            collectReadyLocked(ready);
            synced.signalAll();
            failed = failedJournal();
        } finally {
            lock.unlock();
        }
        complete(ready, failed);
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(JournalFormat.ANY_SUFFIX)).sorted().toList());
        }
    }

    private List<Path> spares() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(SPARE_SUFFIX)).sorted().toList());
        }
    }

    private static long firstSeq(Path file) {
        return Long.parseLong(file.getFileName().toString().substring(0, 20)); // %020d, then a suffix
    }

    /** Replays one file, cutting a torn write at its end; returns the highest seq seen. */
    private long replayFile(Path file, boolean last, BiConsumer<JournalRecord, Location> replay) throws IOException {
        JournalFile journalFile = JournalFile.named(file.getFileName().toString(), codec);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileReplay.Outcome outcome = FileReplay.replay(file, ch, journalFile, last, replay);
            if (outcome.tornWriteAfter()) {
                log.warn("journal {}: cutting a torn record at position {} (never acknowledged)", file, outcome.endOfRecords());
                zeroRange(ch, outcome.endOfRecords(), ch.size());
                force(ch, true);
            }
            endOfRecords = outcome.endOfRecords();
            return outcome.lastSeq();
        }
    }
}
