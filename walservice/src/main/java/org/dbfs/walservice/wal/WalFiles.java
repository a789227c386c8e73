package org.dbfs.walservice.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.dbfs.pgformat.wal.Lsn;

/**
 * Reads WAL back from the local segment files (see {@link LocalWal} for the layout). Stateless and
 * thread-safe; callers ask only for WAL below the flushed position.
 */
public record WalFiles(Path dir, WalSegments segments, int timeline) {

    public Path segmentPath(long segno) {
        return dir.resolve(segments.fileName(timeline, segno));
    }

    /**
     * Bytes [start, end).
     *
     * @throws WalNotAvailableException if a segment file of the range is missing or too short
     */
    public byte[] read(long start, long end) throws IOException {
        byte[] out = new byte[Math.toIntExact(end - start)];
        long lsn = start;
        while (lsn < end) {
            int n = (int) Math.min(segments.nextSegmentStart(lsn) - lsn, end - lsn);
            Path file = segmentPath(segments.segmentNumber(lsn));
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.wrap(out, (int) (lsn - start), n);
                long pos = segments.offsetInSegment(lsn);
                while (buf.hasRemaining()) {
                    int r = ch.read(buf, pos);
                    if (r < 0) {
                        throw new WalNotAvailableException("local segment " + file + " ends at offset " + pos
                                + ", before LSN " + Lsn.format(lsn + n));
                    }
                    pos += r;
                }
            } catch (NoSuchFileException e) {
                throw new WalNotAvailableException("no local segment file " + file + " for LSN " + Lsn.format(lsn), e);
            }
            lsn += n;
        }
        return out;
    }
}
