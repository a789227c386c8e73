package org.dbfs.walservice.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The local WAL log: received WAL in PostgreSQL-named segment files under {@code dir}, each byte at
 * its own offset ({@code lsn % segment size}), so a file is byte for byte the primary's
 * {@code pg_wal} segment over the range that was received.
 *
 * <p>Concurrency: one writer thread calls {@link #write} and {@link #sync}; readers use
 * {@link WalFiles} for bytes that are already durable (they are never rewritten with other content:
 * after a crash, bytes past the durable position are overwritten with the same WAL re-streamed).
 */
public final class LocalWal implements AutoCloseable {
    private final Path dir;
    private final WalSegments segments;
    private final WalFiles files;

    private long writeLsn;
    private long currentSegno = -1;
    private FileChannel current;
    /** Channels written since the last sync: the current one and any finished segment not yet fsynced. */
    private final List<FileChannel> unsynced = new ArrayList<>();
    private boolean createdFiles;
    /** Set by the first failed fsync, never cleared: see {@link #sync}. */
    private IOException failure;

    /** How a file is forced: FileChannel.force, or a test's failing one ({@link #forceWith}). */
    interface Forcer {
        void force(FileChannel ch) throws IOException;
    }
    private Forcer forcer = ch -> ch.force(false);

    private LocalWal(Path dir, WalSegments segments, int timeline, long writeLsn) {
        this.dir = dir;
        this.segments = segments;
        this.files = new WalFiles(dir, segments, timeline);
        this.writeLsn = writeLsn;
    }

    /** Opens the log for appending at {@code resumeLsn} (the durable position; later bytes get rewritten). */
    public static LocalWal open(Path dir, WalSegments segments, int timeline, long resumeLsn) throws IOException {
        Files.createDirectories(dir);
        return new LocalWal(dir, segments, timeline, resumeLsn);
    }

    public WalSegments segments() {
        return segments;
    }

    /** End of the bytes written so far (durable or not). */
    public synchronized long writeLsn() {
        return writeLsn;
    }

    /** Appends WAL that starts at {@code startLsn}, which must be exactly where the log ends: no gap, no overlap. */
    public synchronized void write(long startLsn, byte[] data, int off, int len) throws IOException {
        checkHealthy();
        if (startLsn != writeLsn) {
            throw new IllegalStateException("WAL does not continue the log: log ends at " + Lsn.format(writeLsn)
                    + ", data starts at " + Lsn.format(startLsn));
        }
        long lsn = startLsn;
        int done = 0;
        while (done < len) {
            FileChannel ch = channelFor(lsn);
            int room = (int) (segments.nextSegmentStart(lsn) - lsn);
            int n = Math.min(room, len - done);
            ByteBuffer buf = ByteBuffer.wrap(data, off + done, n);
            long pos = segments.offsetInSegment(lsn);
            while (buf.hasRemaining()) {
                pos += ch.write(buf, pos);
            }
            done += n;
            lsn += n;
        }
        writeLsn = lsn;
    }

    /** Moves the end back to {@code lsn} (durable WAL past it is overwritten by what is written next). */
    public synchronized void rewind(long lsn) throws IOException {
        sync();
        if (Long.compareUnsigned(lsn, writeLsn) > 0) {
            throw new IllegalArgumentException("cannot rewind forward: the log ends at " + Lsn.format(writeLsn));
        }
        writeLsn = lsn;
    }

    /**
     * fsyncs everything written (and new files' directory entries); returns the now durable end.
     * A failed fsync fails the log for good ({@link LocalWalFailedException}, now and on every later
     * write and sync): Linux reports a writeback error to one fsync only, so a later one could
     * succeed over WAL that never reached the disk, and the primary would be told it was durable.
     */
    public synchronized long sync() throws IOException {
        checkHealthy();
        try {
            for (FileChannel ch : unsynced) {
                forcer.force(ch);
            }
            if (createdFiles) {
                DurableFiles.fsyncDirectory(dir);
            }
        } catch (IOException e) {
            failure = e;
            throw new LocalWalFailedException(dir, e);
        }
        for (FileChannel ch : unsynced) {
            if (ch != current) {
                ch.close();
            }
        }
        unsynced.clear();
        if (current != null) {
            unsynced.add(current);
        }
        createdFiles = false;
        return writeLsn;
    }

    private void checkHealthy() {
        if (failure != null) {
            throw new LocalWalFailedException(dir, failure);
        }
    }

    /** Test seam: forces segment files with {@code f} from now on (a disk that fails an fsync). */
    synchronized void forceWith(Forcer f) {
        this.forcer = f;
    }

    /** The segment files, for reading durable WAL back. */
    public WalFiles files() {
        return files;
    }

    private FileChannel channelFor(long lsn) throws IOException {
        long segno = segments.segmentNumber(lsn);
        if (segno != currentSegno) {
            Path file = files.segmentPath(segno);
            if (!Files.exists(file)) {
                createdFiles = true;
            }
            // The finished segment stays in 'unsynced' until the next sync fsyncs and closes it.
            current = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            currentSegno = segno;
            unsynced.add(current);
        }
        return current;
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (FileChannel ch : unsynced) {
            try {
                ch.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        unsynced.clear();
        current = null;
        currentSegno = -1;
        if (first != null) {
            throw first;
        }
    }
}
