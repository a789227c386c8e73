package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.WriteExtent;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whole, aligned 8 KB page writes the mount has acknowledged but not yet sent to the page server.
 *
 * <p>Why: PostgreSQL commits with write() then fdatasync() on the WAL. Sent as they come, that is
 * two round trips (a write, then a Sync); buffered, fdatasync sends the pages with {@code durable}
 * set and it is one. Data-page writes of backends and the checkpointer return at memory speed and
 * leave at fsync in runs of contiguous pages.
 *
 * <p>Durability is unchanged: nothing here is reported durable until a flush with {@code durable}
 * returns, which is exactly what fsync waits for. Reads and sizes on this mount overlay the buffer,
 * so the mount still returns the bytes last written. Writes that are not whole aligned pages are
 * not buffered; the caller flushes the pages they overlap first, so order is kept.
 *
 * <p>An mtime the kernel sets on an open file (in writeback-cache mode it sends one after writes)
 * waits here too and leaves with the next flush, instead of costing a round trip of its own.
 *
 * <p>Concurrency: one lock per inode, held across that inode's flush, so a flush sends a consistent
 * set of pages and a write to the same file waits for it.
 */
final class WriteBuffer {
    private static final Logger log = LoggerFactory.getLogger(WriteBuffer.class);
    static final int PAGE = PgConstants.BLCKSZ;
    /** A file with this much buffered is flushed (not durably) by the write that reaches it. */
    static final long MAX_BUFFERED_PER_FILE = 8L << 20;
    /** Past this much buffered in all, every buffered write flushes its own file. */
    static final long MAX_BUFFERED_TOTAL = 256L << 20;
    /** The most pages a flush puts in one request (4 MiB; gRPC messages stay well under 64 MiB). */
    private static final int MAX_REQUEST_PAGES = 512;

    private final PageServerClient client;
    private final ConcurrentHashMap<Long, FileBuffer> files = new ConcurrentHashMap<>();
    private final AtomicLong bufferedBytes = new AtomicLong();

    WriteBuffer(PageServerClient client) {
        this.client = client;
    }

    /** The result of a flush: the errno and the replies' incarnation (0 if nothing was sent). */
    /** @param unreachable the page server could not be reached (after the client's reconnect window) */
    record Flushed(int errno, long incarnation, boolean sent, boolean unreachable) {
        static final Flushed NOTHING = new Flushed(0, 0, false);

        Flushed(int errno, long incarnation, boolean sent) {
            this(errno, incarnation, sent, false);
        }
    }

    /**
     * Buffers a whole-page write. Returns the flush result if the file's buffer grew past its limit
     * and had to be sent, else {@link Flushed#NOTHING}.
     */
    Flushed write(long ino, boolean relation, long offset, byte[] data) {
        FileBuffer buffer = files.computeIfAbsent(ino, i -> new FileBuffer(ino, relation));
        synchronized (buffer) {
            for (int pos = 0; pos < data.length; pos += PAGE) {
                byte[] page = new byte[PAGE];
                System.arraycopy(data, pos, page, 0, PAGE);
                if (buffer.pages.put((offset + pos) / PAGE, page) == null) {
                    bufferedBytes.addAndGet(PAGE);
                }
            }
            buffer.end = Math.max(buffer.end, offset + data.length);
            if ((long) buffer.pages.size() * PAGE >= MAX_BUFFERED_PER_FILE || bufferedBytes.get() > MAX_BUFFERED_TOTAL) {
                return buffer.flush(false);
            }
        }
        return Flushed.NOTHING;
    }

    /** Keeps a new mtime for an open file until its next flush. */
    void setMtime(long ino, boolean relation, long mtimeNs) {
        FileBuffer buffer = files.computeIfAbsent(ino, i -> new FileBuffer(ino, relation));
        synchronized (buffer) {
            buffer.mtimeNs = mtimeNs;
        }
    }

    /** The mtime this mount shows: a pending one, else the stored one. */
    long mtime(long ino, long storedMtimeNs) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return storedMtimeNs;
        }
        synchronized (buffer) {
            return buffer.mtimeNs != NO_MTIME ? buffer.mtimeNs : storedMtimeNs;
        }
    }

    /** Sends the inode's buffered pages; the last request is durable if {@code durable}. */
    Flushed flush(long ino, boolean durable) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return Flushed.NOTHING;
        }
        synchronized (buffer) {
            return buffer.flush(durable);
        }
    }

    /** Flushes the pages of [offset, offset + length) of the inode, if any are buffered. */
    Flushed flushOverlapping(long ino, long offset, long length) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return Flushed.NOTHING;
        }
        synchronized (buffer) {
            boolean overlaps = !buffer.pages.subMap(offset / PAGE, true, (offset + length - 1) / PAGE, true).isEmpty();
            return overlaps ? buffer.flush(false) : Flushed.NOTHING;
        }
    }

    /**
     * Sends everything buffered, file by file; returns the first failure. An unreachable page server
     * ends it there: each further file would wait out the client's reconnect window in turn (an
     * unmount with a dozen dirty files took minutes), and fail the same way.
     */
    int flushAll(boolean durable) {
        int result = 0;
        for (Long ino : List.copyOf(files.keySet())) {
            Flushed f = flush(ino, durable);
            if (f.errno() != 0 && result == 0) {
                result = f.errno();
            }
            if (f.unreachable()) {
                log.error("page server {} is unreachable: the other files' buffered pages stay unsent", client.target());
                break;
            }
        }
        return result;
    }

    /** The file's size as this mount sees it: at least the end of what is buffered. */
    long size(long ino, long storedSize) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return storedSize;
        }
        synchronized (buffer) {
            return Math.max(storedSize, buffer.end);
        }
    }

    /**
     * Reads [offset, offset + length): bytes from the page server ({@code stored}, which ends where
     * the stored file ends) overlaid with buffered pages. Returns {@code stored} itself when nothing
     * buffered touches the range.
     */
    byte[] overlay(long ino, long offset, int length, byte[] stored) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return stored;
        }
        synchronized (buffer) {
            long end = Math.min(offset + length, Math.max(offset + stored.length, buffer.end));
            Map<Long, byte[]> touched = end <= offset ? Map.of()
                    : buffer.pages.subMap(offset / PAGE, true, (end - 1) / PAGE, true);
            if (touched.isEmpty() && end == offset + stored.length) {
                return stored;
            }
            byte[] out = new byte[(int) Math.max(0, end - offset)];
            System.arraycopy(stored, 0, out, 0, Math.min(stored.length, out.length));
            for (Map.Entry<Long, byte[]> e : touched.entrySet()) {
                long pageStart = e.getKey() * PAGE;
                long from = Math.max(pageStart, offset);
                long to = Math.min(pageStart + PAGE, end);
                System.arraycopy(e.getValue(), (int) (from - pageStart), out, (int) (from - offset), (int) (to - from));
            }
            return out;
        }
    }

    /** Whether [offset, offset + length) is entirely buffered, so a read needs no round trip. */
    boolean covers(long ino, long offset, long length) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null || length <= 0) {
            return false;
        }
        synchronized (buffer) {
            for (long p = offset / PAGE; p <= (offset + length - 1) / PAGE; p++) {
                if (!buffer.pages.containsKey(p)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A truncation: buffered bytes past {@code size} are gone. */
    void truncate(long ino, long size) {
        FileBuffer buffer = files.get(ino);
        if (buffer == null) {
            return;
        }
        synchronized (buffer) {
            Map<Long, byte[]> gone = buffer.pages.tailMap((size + PAGE - 1) / PAGE, true);
            bufferedBytes.addAndGet(-(long) gone.size() * PAGE);
            gone.clear();
            byte[] partial = size % PAGE == 0 ? null : buffer.pages.get(size / PAGE);
            if (partial != null) {
                java.util.Arrays.fill(partial, (int) (size % PAGE), PAGE, (byte) 0);
            }
            buffer.end = Math.min(buffer.end, size);
        }
    }

    /** Forgets an inode whose buffer is empty (after its last close). */
    void forgetIfClean(long ino) {
        files.computeIfPresent(ino, (i, b) -> {
            synchronized (b) {
                return b.pages.isEmpty() && b.mtimeNs == NO_MTIME ? null : b;
            }
        });
    }

    private static final long NO_MTIME = Long.MIN_VALUE;

    private final class FileBuffer {
        final long ino;
        final boolean relation;
        final TreeMap<Long, byte[]> pages = new TreeMap<>();
        long end; // highest byte offset written through this buffer
        long mtimeNs = NO_MTIME;

        FileBuffer(long ino, boolean relation) {
            this.ino = ino;
            this.relation = relation;
        }

        /**
         * Caller holds the lock. Sends the pages as contiguous ranges, many ranges to a request
         * (scattered dirty pages would otherwise cost a round trip each); the last request is
         * durable if asked. On failure the unsent pages stay buffered.
         */
        Flushed flush(boolean durable) {
            if (pages.isEmpty()) {
                return mtimeNs == NO_MTIME ? Flushed.NOTHING : flushMtime(durable);
            }
            List<List<Map.Entry<Long, byte[]>>> requests = new ArrayList<>();
            List<Map.Entry<Long, byte[]>> request = null;
            for (Map.Entry<Long, byte[]> e : pages.entrySet()) {
                if (request == null || request.size() == MAX_REQUEST_PAGES) {
                    request = new ArrayList<>();
                    requests.add(request);
                }
                request.add(e);
            }
            long incarnation = 0;
            for (int r = 0; r < requests.size(); r++) {
                List<Map.Entry<Long, byte[]>> sent = requests.get(r);
                WriteFileRequest.Builder builder = WriteFileRequest.newBuilder().setIno(ino)
                        .setDurable(durable && r == requests.size() - 1);
                if (r == requests.size() - 1 && mtimeNs != NO_MTIME) {
                    builder.setMtimeNs(mtimeNs);
                }
                addRanges(builder, sent);
                MutationReply reply;
                try {
                    reply = client.writeFile(builder.build());
                } catch (StatusRuntimeException e) {
                    log.error("sending buffered pages of inode {} to page server {} failed: {}", ino, client.target(),
                            e.getStatus());
                    return new Flushed(LinuxErrno.EIO, 0, true, e.getStatus().getCode() == Status.Code.UNAVAILABLE);
                }
                if (reply.getErrno() != 0) {
                    return new Flushed(reply.getErrno(), reply.getIncarnation(), true);
                }
                if (incarnation != 0 && reply.getIncarnation() != incarnation) {
                    // The page server restarted between two requests: the earlier ones may be lost.
                    return new Flushed(LinuxErrno.EIO, reply.getIncarnation(), true);
                }
                incarnation = reply.getIncarnation();
                for (Map.Entry<Long, byte[]> e : sent) {
                    if (pages.remove(e.getKey(), e.getValue())) {
                        bufferedBytes.addAndGet(-PAGE);
                    }
                }
            }
            mtimeNs = NO_MTIME;
            return new Flushed(0, incarnation, true);
        }

        /** Pages in block order become ranges: contiguous blocks share one. */
        private void addRanges(WriteFileRequest.Builder builder, List<Map.Entry<Long, byte[]>> sorted) {
            int i = 0;
            while (i < sorted.size()) {
                int j = i + 1;
                while (j < sorted.size() && sorted.get(j).getKey() == sorted.get(j - 1).getKey() + 1) {
                    j++;
                }
                ByteString.Output data = ByteString.newOutput((j - i) * PAGE);
                WriteExtent.Builder extent = WriteExtent.newBuilder().setOffset(sorted.get(i).getKey() * PAGE);
                for (Map.Entry<Long, byte[]> e : sorted.subList(i, j)) {
                    data.write(e.getValue(), 0, PAGE);
                    if (relation) {
                        extent.addPageLsns(PageHeader.PageGetLSN(e.getValue(), 0));
                    }
                }
                builder.addExtents(extent.setData(data.toByteString()));
                i = j;
            }
        }

        private Flushed flushMtime(boolean durable) {
            try {
                NodeReply reply = client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setMtimeNs(mtimeNs)
                        .setDurable(durable).build());
                if (reply.getErrno() == 0) {
                    mtimeNs = NO_MTIME;
                }
                return new Flushed(reply.getErrno(), reply.getIncarnation(), true);
            } catch (StatusRuntimeException e) {
                log.error("sending the mtime of inode {} to page server {} failed: {}", ino, client.target(), e.getStatus());
                return new Flushed(LinuxErrno.EIO, 0, true);
            }
        }
    }
}
