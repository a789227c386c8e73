package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Writes to a file by inode. A relation file is stored as pages versioned by pd_lsn, so its writes
 * go to the page server in whole pages with each page's pd_lsn; PostgreSQL only ever writes whole
 * aligned pages, anything else (a copy tool, a test) is turned into read-modify-write of the pages
 * it touches.
 */
final class FileWrites {

    private static final int BLCKSZ = PgConstants.BLCKSZ;
    private static final int LOCK_STRIPES = 64;

    private final PageServerClient client;
    private final SyncBarrier syncBarrier;
    /** Aligned page writes share a stripe; a read-modify-write holds it alone so no write slips in between. */
    private final ReadWriteLock[] stripes = new ReadWriteLock[LOCK_STRIPES];

    FileWrites(PageServerClient client, SyncBarrier syncBarrier) {
        this.client = client;
        this.syncBarrier = syncBarrier;
        for (int i = 0; i < LOCK_STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    /** @return 0 or -errno */
    int write(OpenFiles.OpenFile file, long offset, byte[] data) {
        int result;
        if (!file.relation()) {
            result = errno(send(file, offset, data, null));
        } else if (offset % BLCKSZ == 0 && data.length % BLCKSZ == 0) {
            Lock lock = stripe(file.ino()).readLock();
            lock.lock();
            try {
                result = errno(send(file, offset, data, pageLsns(data)));
            } finally {
                lock.unlock();
            }
        } else {
            Lock lock = stripe(file.ino()).writeLock();
            lock.lock();
            try {
                result = readModifyWrite(file, offset, data);
            } finally {
                lock.unlock();
            }
        }
        if (result == 0 && file.syncWrites()) {
            result = syncBarrier.sync();
        }
        return result;
    }

    private int readModifyWrite(OpenFiles.OpenFile file, long offset, byte[] data) {
        long start = Math.floorDiv(offset, BLCKSZ) * BLCKSZ;
        long end = Math.ceilDiv(offset + data.length, BLCKSZ) * BLCKSZ;
        int length = Math.toIntExact(end - start);
        ReadFileReply old = client.readFile(file.ino(), start, length);
        if (old.getErrno() != 0) {
            return -old.getErrno();
        }
        byte[] pages = new byte[length]; // past the old end of file: zeros, as a hole would read
        old.getData().copyTo(pages, 0);
        System.arraycopy(data, 0, pages, Math.toIntExact(offset - start), data.length);
        int result = errno(send(file, start, pages, pageLsns(pages)));
        long oldSize = start + old.getData().size();
        long newSize = offset + data.length;
        if (result == 0 && old.getData().size() < length && newSize < end) {
            // Whole pages went out, but the file must end where the caller's write ended.
            SetAttrRequest trim = SetAttrRequest.newBuilder().setIno(file.ino()).setSize(Math.max(oldSize, newSize)).build();
            result = -client.setAttr(trim).getErrno();
        }
        return result;
    }

    private MutationReply send(OpenFiles.OpenFile file, long offset, byte[] data, long[] pageLsns) {
        WriteFileRequest.Builder request = WriteFileRequest.newBuilder()
                .setIno(file.ino())
                .setOffset(offset)
                .setData(ByteString.copyFrom(data))
                .setDurable(file.syncWrites());
        if (pageLsns != null) {
            for (long lsn : pageLsns) {
                request.addPageLsns(lsn);
            }
        }
        return client.writeFile(request.build());
    }

    static long[] pageLsns(byte[] pages) {
        long[] lsns = new long[pages.length / BLCKSZ];
        for (int i = 0; i < lsns.length; i++) {
            lsns[i] = PageHeader.PageGetLSN(pages, i * BLCKSZ);
        }
        return lsns;
    }

    private static int errno(MutationReply reply) {
        return -reply.getErrno();
    }

    private ReadWriteLock stripe(long ino) {
        return stripes[(int) Math.floorMod(ino ^ (ino >>> 32), (long) LOCK_STRIPES)];
    }
}
