package org.dbfs.walservice.wal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.function.LongSupplier;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalSource;

/**
 * A {@link WalSource} over the local log's segment files that serves only durable bytes (below
 * {@code durableEnd}, read afresh on every call), so a decoder fed by it never sees WAL that a
 * crash could still change. Keeps the current segment's channel open.
 *
 * <p>Not thread-safe: one consumer (the index stage) owns it.
 */
public final class DurableWalSource implements WalSource, AutoCloseable {
    private final WalFiles files;
    private final LongSupplier durableEnd;
    private long segno = -1;
    private FileChannel channel;

    public DurableWalSource(WalFiles files, LongSupplier durableEnd) {
        this.files = files;
        this.durableEnd = durableEnd;
    }

    @Override
    public int read(long lsn, byte[] dst, int off, int len) {
        long end = durableEnd.getAsLong();
        if (Long.compareUnsigned(lsn, end) >= 0) {
            return 0;
        }
        WalSegments segments = files.segments();
        int n = (int) Math.min(len, Math.min(end - lsn, segments.nextSegmentStart(lsn) - lsn));
        try {
            FileChannel ch = channelFor(segments.segmentNumber(lsn));
            ByteBuffer buf = ByteBuffer.wrap(dst, off, n);
            long pos = segments.offsetInSegment(lsn);
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos);
                if (r < 0) {
                    throw new WalNotAvailableException("local segment " + files.segmentPath(segno) + " ends at offset " + pos
                            + ", below the durable position " + Lsn.format(end));
                }
                pos += r;
            }
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private FileChannel channelFor(long wanted) throws IOException {
        if (wanted != segno) {
            close();
            try {
                channel = FileChannel.open(files.segmentPath(wanted), StandardOpenOption.READ);
            } catch (NoSuchFileException e) {
                throw new WalNotAvailableException("no local segment file " + files.segmentPath(wanted)
                        + " although its WAL is durable", e);
            }
            segno = wanted;
        }
        return channel;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            FileChannel ch = channel;
            channel = null;
            segno = -1;
            ch.close();
        }
    }
}
