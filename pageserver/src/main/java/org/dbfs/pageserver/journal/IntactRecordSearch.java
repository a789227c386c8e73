package org.dbfs.pageserver.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Looks past a break in a journal file's records for an intact record, at every byte position,
 * since a damaged length says nothing about where the next frame starts. Only a plausible header
 * (bounds, then its CRC: see {@link FrameHeader}) costs a read and an authentication, so zeros and
 * a reused file's stale frames go by at the speed of reading them.
 */
final class IntactRecordSearch {
    private static final int CHUNK = 1 << 20;

    private IntactRecordSearch() {}

    /** The position of the first intact record at or after {@code from}, or -1 if there is none before {@code size}. */
    static long first(JournalFile file, FileChannel ch, long from, long size) throws IOException {
        int headerBytes = file.headerBytes();
        // Each chunk reads a header's length more than it scans, so a header across chunks is seen whole.
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK + headerBytes).order(ByteOrder.LITTLE_ENDIAN);
        for (long start = from; start + headerBytes <= size; start += CHUNK) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), size - start));
            if (!JournalFile.readFully(ch, chunk, start)) {
                return -1;
            }
            int lastCandidate = Math.min(CHUNK - 1, chunk.limit() - headerBytes);
            for (int i = 0; i <= lastCandidate; i++) {
                if (file.frameLength(chunk, i) > 0 && file.readAt(ch, start + i, size) != null) {
                    return start + i;
                }
            }
        }
        return -1;
    }
}
