package org.dbfs.pageserver.journal;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.dbfs.pageserver.crypto.FrameCodec;
import org.dbfs.pageserver.crypto.IntegrityException;
import org.dbfs.pageserver.format.JournalRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page server's local durable log: a write is acknowledged once its record is here and
 * fsynced, long before it is packed into a segment object.
 *
 * <pre>
 * journal file  NNNNNNNNNNNNNNNNNNNN.journal   (20-digit seq of its first record)
 *   +------------------+----------------------------------------------+
 *   | frameLength (u32 |  frame = FrameCodec.seal(JournalRecord,       |  ... repeated
 *   |  little endian)  |          AD = (file name, position of frame)) |
 *   +------------------+----------------------------------------------+
 * </pre>
 *
 * No separate checksum: the frame's authentication tag is one. At open, the last file may end in
 * a torn frame (a write that was never acknowledged); it is cut off. A bad frame with a good one
 * after it, or in an older file, is corruption and stops the start.
 *
 * <p>Group commit: {@link #append} only writes; {@link #awaitDurable} makes one caller fsync for
 * everyone waiting, so concurrent writers share one fsync. A failed fsync fails the journal for
 * good: after it the kernel may have dropped dirty pages, and nothing written since can be trusted.
 *
 * <p>Thread-safe.
 */
public final class Journal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Journal.class);
    private static final String SUFFIX = ".journal";
    private static final int MAX_FRAME = 256 << 20;

    private final Path dir;
    private final FrameCodec codec;
    private final long rollBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition synced = lock.newCondition();

    private FileChannel channel;
    private String fileName;
    private long filePosition;
    private long written;      // logical bytes appended since open, across files
    private long durable;      // logical bytes known fsynced
    private boolean syncing;
    private IOException failure;

    private Journal(Path dir, FrameCodec codec, long rollBytes) {
        this.dir = dir;
        this.codec = codec;
        this.rollBytes = rollBytes;
    }

    /**
     * Opens the journal in {@code dir}, handing every intact record, in order, to {@code replay}.
     *
     * @param nextSeq the seq the next appended record will have if the journal is empty
     */
    public static Journal open(Path dir, FrameCodec codec, long rollBytes, Consumer<JournalRecord> replay)
            throws IOException {
        Files.createDirectories(dir);
        Journal journal = new Journal(dir, codec, rollBytes);
        List<Path> files = journal.files();
        long lastSeq = -1;
        for (int i = 0; i < files.size(); i++) {
            lastSeq = Math.max(lastSeq, journal.replayFile(files.get(i), i == files.size() - 1, replay));
        }
        if (files.isEmpty()) {
            journal.startFile(0);
        } else {
            Path last = files.getLast();
            journal.fileName = last.getFileName().toString();
            journal.channel = FileChannel.open(last, StandardOpenOption.WRITE);
            journal.filePosition = journal.channel.size();
            journal.channel.position(journal.filePosition);
        }
        return journal;
    }

    /** Appends a record (not yet durable). Returns the token to pass to {@link #awaitDurable}. */
    public long append(JournalRecord record) throws IOException {
        byte[] plain = record.toByteArray();
        lock.lock();
        try {
            checkHealthy();
            if (filePosition >= rollBytes) {
                rollLocked(record.getSeq());
            }
            byte[] frame = codec.seal(plain, FrameCodec.associatedData(fileName, filePosition + 4));
            ByteBuffer buf = ByteBuffer.allocate(4 + frame.length).order(ByteOrder.LITTLE_ENDIAN);
            buf.putInt(frame.length).put(frame).flip();
            long start = filePosition;
            try {
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            } catch (IOException e) {
                undoPartialWrite(start, e);
                throw new IOException(describeWriteFailure(e), e);
            }
            filePosition += 4 + frame.length;
            written += 4 + frame.length;
            return written;
        } finally {
            lock.unlock();
        }
    }

    /** Returns once every byte up to {@code token} is fsynced. */
    public void awaitDurable(long token) throws IOException {
        lock.lock();
        try {
            while (durable < token) {
                checkHealthy();
                if (syncing) {
                    synced.awaitUninterruptibly();
                    continue;
                }
                syncing = true;
                long target = written;
                FileChannel ch = channel;
                lock.unlock();
                IOException error = null;
                try {
                    ch.force(false);
                } catch (IOException e) {
                    error = e;
                } finally {
                    lock.lock();
                }
                syncing = false;
                if (error != null) {
                    failure = error;
                    log.error("journal fsync failed in {}; refusing further writes", dir, error);
                } else {
                    durable = Math.max(durable, target);
                }
                synced.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

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

    /** Deletes the files all of whose records are at or below {@code packedSeq}. */
    public void deleteUpTo(long packedSeq) throws IOException {
        lock.lock();
        try {
            List<Path> files = files();
            for (int i = 0; i + 1 < files.size(); i++) {
                long nextFirst = firstSeq(files.get(i + 1));
                if (nextFirst <= packedSeq + 1 && !files.get(i).getFileName().toString().equals(fileName)) {
                    Files.delete(files.get(i));
                }
            }
        } finally {
            lock.unlock();
        }
    }

    public long durableBytes() {
        lock.lock();
        try {
            return durable;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            if (channel != null && channel.isOpen()) {
                if (failure == null) {
                    channel.force(false);
                }
                channel.close();
            }
        } finally {
            lock.unlock();
        }
    }

    private void rollLocked(long nextSeq) throws IOException {
        channel.force(false);
        durable = written;
        channel.close();
        startFile(nextSeq);
    }

    private void startFile(long firstSeq) throws IOException {
        fileName = String.format("%020d%s", firstSeq, SUFFIX);
        Path path = dir.resolve(fileName);
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        channel.truncate(0);
        filePosition = 0;
        // The new name must survive a crash before any record in it is acknowledged.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private void undoPartialWrite(long start, IOException cause) {
        try {
            channel.truncate(start);
            channel.position(start);
        } catch (IOException e) {
            cause.addSuppressed(e);
            failure = cause;
        }
    }

    private String describeWriteFailure(IOException e) {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("No space left")) {
            return "journal write failed: no space left on the device holding " + dir
                    + "; the write was not acknowledged. Free space and retry.";
        }
        return "journal write failed in " + dir + ": " + msg + "; the write was not acknowledged";
    }

    private void checkHealthy() throws IOException {
        if (failure != null) {
            throw new IOException("journal in " + dir + " failed earlier (" + failure.getMessage()
                    + "); restart the page server to recover from its durable state", failure);
        }
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList());
        }
    }

    private static long firstSeq(Path file) {
        String n = file.getFileName().toString();
        return Long.parseLong(n.substring(0, n.length() - SUFFIX.length()));
    }

    /** Replays one file; returns the highest seq seen. */
    private long replayFile(Path file, boolean last, Consumer<JournalRecord> replay) throws IOException {
        String name = file.getFileName().toString();
        long lastSeq = -1;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long pos = 0;
            while (pos < size) {
                JournalRecord record = readFrame(ch, name, pos, size);
                if (record == null) {
                    long nextFrame = frameEnd(ch, pos, size);
                    if (!last || (nextFrame > 0 && nextFrame < size && readFrame(ch, name, nextFrame, size) != null)) {
                        throw new IntegrityException("journal file " + file + " is corrupt at position " + pos
                                + " (records follow it, so this is not a torn last write). The page server will not"
                                + " start on a damaged journal; keep a copy of " + dir + " for inspection.");
                    }
                    log.warn("journal {}: cutting torn tail at position {} ({} bytes never acknowledged)",
                            file, pos, size - pos);
                    ch.truncate(pos);
                    ch.force(true);
                    break;
                }
                replay.accept(record);
                lastSeq = Math.max(lastSeq, record.getSeq());
                pos = frameEnd(ch, pos, size);
            }
        }
        return lastSeq;
    }

    /** End of the frame at pos according to its length prefix, or -1 if unreadable. */
    private static long frameEnd(FileChannel ch, long pos, long size) throws IOException {
        if (pos + 4 > size) {
            return -1;
        }
        ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(len, pos);
        int n = len.flip().getInt();
        return n <= 0 || n > MAX_FRAME ? -1 : pos + 4 + n;
    }

    private JournalRecord readFrame(FileChannel ch, String name, long pos, long size) throws IOException {
        long end = frameEnd(ch, pos, size);
        if (end < 0 || end > size) {
            return null;
        }
        ByteBuffer buf = ByteBuffer.allocate((int) (end - pos - 4));
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + 4 + buf.position()) < 0) {
                return null;
            }
        }
        try {
            byte[] plain = codec.open(buf.array(), FrameCodec.associatedData(name, pos + 4), name + "@" + (pos + 4));
            return JournalRecord.parseFrom(plain);
        } catch (IntegrityException | InvalidProtocolBufferException e) {
            return null;
        }
    }

    /** Wraps an IOException for callers that cannot throw it. */
    public static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e.getMessage(), e);
    }
}
