package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/**
 * Writes to a file by inode. Whole aligned pages (all PostgreSQL writes) go into the
 * {@link WriteBuffer} and leave at fsync; anything else is sent at once, after the buffered pages
 * it overlaps, so the page server sees writes in the order they were made.
 *
 * <p>A relation file is stored as pages versioned by pd_lsn, so whole pages carry each page's
 * pd_lsn. Other writes (a copy tool, a test) go without: the page server then merges the touched
 * pages itself, atomically, and takes pd_lsn from the merged pages, which spares the mount a racy
 * read-modify-write.
 */
final class FileWrites {

    private static final int BLCKSZ = PgConstants.BLCKSZ;

    private final PageServerClient client;
    private final SyncBarrier syncBarrier;
    private final WriteBuffer buffer;
    private final OpenFileAttrs openAttrs;

    FileWrites(PageServerClient client, SyncBarrier syncBarrier, WriteBuffer buffer, OpenFileAttrs openAttrs) {
        this.client = client;
        this.syncBarrier = syncBarrier;
        this.buffer = buffer;
        this.openAttrs = openAttrs;
    }

    /** @return 0 or -errno */
    int write(OpenFiles.OpenFile file, long offset, byte[] data) {
        if (!file.syncWrites() && isWholePages(offset, data.length)) {
            return -buffer.write(file.ino(), file.relation(), offset, data).errno();
        }
        DurabilityTracker.Pending before = client.durability().pending();
        int flushed = buffer.flushOverlapping(file.ino(), offset, data.length).errno();
        if (flushed != 0) {
            return -flushed;
        }
        WriteFileRequest.Builder request = WriteFileRequest.newBuilder()
                .setIno(file.ino())
                .setOffset(offset)
                .setData(ByteString.copyFrom(data))
                .setDurable(file.syncWrites());
        if (file.relation() && isWholePages(offset, data.length)) {
            for (long lsn : pageLsns(data)) {
                request.addPageLsns(lsn);
            }
        }
        MutationReply reply = client.writeFile(request.build());
        openAttrs.forget(file.ino()); // the page server moved size and mtime; the write buffer did not see it
        if (reply.getErrno() != 0) {
            return -reply.getErrno();
        }
        // O_SYNC/O_DSYNC: durable before write(2) returns; like fsync, it covers this mount's earlier writes.
        return file.syncWrites() ? syncBarrier.coveredByDurableWrite(before, reply.getIncarnation()) : 0;
    }

    /**
     * fsync of one file: its buffered pages leave in requests whose last is durable, which also
     * makes every earlier write durable (the page server's journal is sequential). With nothing
     * buffered, a Sync barrier does it.
     */
    int fsync(long ino) {
        DurabilityTracker.Pending before = client.durability().pending();
        WriteBuffer.Flushed flushed = buffer.flush(ino, true);
        if (!flushed.sent()) {
            return syncBarrier.sync();
        }
        if (flushed.errno() != 0) {
            return -LinuxErrno.EIO;
        }
        return syncBarrier.coveredByDurableWrite(before, flushed.incarnation());
    }

    static boolean isWholePages(long offset, int length) {
        return offset % BLCKSZ == 0 && length % BLCKSZ == 0 && length > 0;
    }

    static long[] pageLsns(byte[] pages) {
        long[] lsns = new long[pages.length / BLCKSZ];
        for (int i = 0; i < lsns.length; i++) {
            lsns[i] = PageHeader.PageGetLSN(pages, i * BLCKSZ);
        }
        return lsns;
    }
}
