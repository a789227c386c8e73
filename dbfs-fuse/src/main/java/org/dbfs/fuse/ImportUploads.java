package org.dbfs.fuse;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/**
 * The data of an import's files, sent to the page server in chunks of {@link #CHUNK} bytes with
 * {@link #PARALLEL} requests in flight, so that reading the next chunk, the round trip and the page
 * server's journaling of the last one overlap. A relation file's whole pages go with their pd_lsn,
 * as the mount's flushes send them ({@link WriteBuffer}); writes are not durable one by one, the
 * import's final Sync makes them so.
 *
 * <p>The first failure stops the queueing of more chunks and is thrown by {@link #copy} or
 * {@link #await}. At most {@link #PARALLEL} chunks are in memory at once.
 */
final class ImportUploads implements AutoCloseable {
    /** 512 pages, as the mount's largest write request: big enough that per-request costs vanish. */
    static final int CHUNK = 4 << 20;
    /**
     * Requests in flight. The page server's CPU sets the pace (about 24 s of it per GiB, journaling
     * and packing); measured with a scale-70 pgbench cluster (1.05 GiB) on 2 quiet cores: 1 request
     * 17 s, 2 15 s, 3 16 s. More only queue behind its journal and hold more chunks in memory.
     */
    static final int PARALLEL = 2;

    private final PageServerClient client;
    private final Progress progress;
    private final ExecutorService pool = Executors.newFixedThreadPool(PARALLEL, r -> {
        Thread t = new Thread(r, "dbfs-import-upload");
        t.setDaemon(true);
        return t;
    });
    private final Semaphore slots = new Semaphore(PARALLEL);
    private final AtomicReference<IOException> failure = new AtomicReference<>();

    ImportUploads(PageServerClient client, Progress progress) {
        this.client = client;
        this.progress = progress;
    }

    /**
     * Queues the file's first {@code copyBytes} bytes for inode {@code ino}; blocks while
     * {@link #PARALLEL} chunks are in flight.
     */
    void copy(ImportPlan.Entry file, long ino) throws IOException, InterruptedException {
        boolean relation = file.relation().isPresent();
        for (long offset = 0; offset < file.copyBytes(); offset += CHUNK) {
            int length = (int) Math.min(CHUNK, file.copyBytes() - offset);
            throwIfFailed();
            slots.acquire();
            long at = offset;
            pool.execute(() -> {
                try {
                    send(file.path(), file.local(), ino, relation, at, length);
                } catch (IOException e) {
                    failure.compareAndSet(null, e);
                } catch (StatusRuntimeException e) {
                    failure.compareAndSet(null, new IOException("writing " + file.path() + " at offset " + at + ": page server "
                            + client.target() + " failed: " + e.getStatus(), e));
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, new IOException("writing " + file.path() + " at offset " + at + ": " + e, e));
                } finally {
                    slots.release();
                }
            });
        }
    }

    /** Sends one chunk and waits for it: pg_control's, which must come after all the others. */
    void copyNow(ImportPlan.Entry file, long ino) throws IOException {
        send(file.path(), file.local(), ino, file.relation().isPresent(), 0, (int) file.copyBytes());
    }

    /** Returns once every queued chunk was acknowledged. @throws IOException the first that failed */
    void await() throws IOException, InterruptedException {
        slots.acquire(PARALLEL);
        slots.release(PARALLEL);
        throwIfFailed();
    }

    private void throwIfFailed() throws IOException {
        IOException e = failure.get();
        if (e != null) {
            throw e;
        }
    }

    private void send(String path, Path local, long ino, boolean relation, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        try (FileChannel c = FileChannel.open(local)) {
            ByteBuffer into = ByteBuffer.wrap(data);
            while (into.hasRemaining()) {
                if (c.read(into, offset + into.position()) < 0) {
                    throw new IOException(local + " shrank while it was copied (to " + (offset + into.position())
                            + " bytes): is the cluster really stopped? Nothing may change its data directory during the import");
                }
            }
        }
        WriteFileRequest.Builder request = WriteFileRequest.newBuilder().setIno(ino).setOffset(offset)
                .setData(UnsafeByteOperations.unsafeWrap(data)); // data is never touched again
        if (relation && FileWrites.isWholePages(offset, length)) {
            for (long lsn : FileWrites.pageLsns(data)) {
                request.addPageLsns(lsn);
            }
        }
        MutationReply reply = client.writeFile(request.build());
        if (reply.getErrno() != 0) {
            throw new IOException("writing " + path + " at offset " + offset + ": page server " + client.target()
                    + " answered " + LinuxErrno.describe(reply.getErrno()));
        }
        progress.advance(length);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
