package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/**
 * Writes to a file by inode. A relation file is stored as pages versioned by pd_lsn, so a write of
 * whole aligned pages (all PostgreSQL ever does) carries each page's pd_lsn. Anything else (a copy
 * tool, a test) goes without: the page server then merges the touched pages itself, atomically,
 * and takes pd_lsn from the merged pages, which spares the mount a racy read-modify-write.
 */
final class FileWrites {

    private static final int BLCKSZ = PgConstants.BLCKSZ;

    private final PageServerClient client;
    private final SyncBarrier syncBarrier;

    FileWrites(PageServerClient client, SyncBarrier syncBarrier) {
        this.client = client;
        this.syncBarrier = syncBarrier;
    }

    /** @return 0 or -errno */
    int write(OpenFiles.OpenFile file, long offset, byte[] data) {
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
        int result = -client.writeFile(request.build()).getErrno();
        if (result == 0 && file.syncWrites()) {
            result = syncBarrier.sync(); // O_SYNC/O_DSYNC: durable before write(2) returns
        }
        return result;
    }

    static boolean isWholePages(long offset, int length) {
        return offset % BLCKSZ == 0 && length % BLCKSZ == 0;
    }

    static long[] pageLsns(byte[] pages) {
        long[] lsns = new long[pages.length / BLCKSZ];
        for (int i = 0; i < lsns.length; i++) {
            lsns[i] = PageHeader.PageGetLSN(pages, i * BLCKSZ);
        }
        return lsns;
    }
}
