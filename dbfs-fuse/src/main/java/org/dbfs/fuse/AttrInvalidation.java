package org.dbfs.fuse;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the kernel fetch the attributes of names again at their next use: how the other names of a
 * hard-linked file learn of a change ({@link HardLinkNames}). Two notifications per name, neither of
 * which jfuse exposes: libfuse's {@code fuse_invalidate_path} drops the attributes cached for the
 * name's kernel inode, which is all a FIFO or device node needs, and all there is for a file that
 * is open. But in writeback-cache mode the kernel keeps its own size, mtime and ctime of a regular
 * file whatever getattr answers; only a new kernel inode takes the page server's. So the name is
 * dropped too ({@code fuse_lowlevel_notify_inval_entry}, its directory named by {@link FuseNodeIds}),
 * which lets the kernel evict an inode no one holds open; the next lookup builds a fresh one.
 *
 * <p>Never from inside an operation: the kernel handles a notification while the request being
 * answered may hold what it waits for (the entry notification takes the directory's lock, which an
 * unlink or rename in that directory holds until its reply), so an operation that waited for it
 * could deadlock. The operations hand the names to a thread of their own instead, once their change
 * is made, and return at once: a stat the kernel answers from its cache before the notification
 * arrives still shows the old attributes (pjdfstest's next command comes far later). Names handed
 * over while earlier ones are being sent go once, in the next round.
 */
final class AttrInvalidation implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AttrInvalidation.class);
    /** int fuse_invalidate_path(struct fuse *f, const char *path), libfuse 3.1 and later. */
    private static final FunctionDescriptor INVALIDATE_PATH = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    /** struct fuse_session *fuse_get_session(struct fuse *f) */
    private static final FunctionDescriptor GET_SESSION = FunctionDescriptor.of(ADDRESS, ADDRESS);
    /** int fuse_lowlevel_notify_inval_entry(struct fuse_session *se, fuse_ino_t parent, const char *name, size_t namelen) */
    private static final FunctionDescriptor INVAL_ENTRY = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG);
    private static final long CLOSE_WAIT_SECONDS = 5;

    private final MethodHandle invalidatePath;
    private final MethodHandle getSession;
    private final MethodHandle invalEntry;
    private final FuseCallerContext callers;
    private final FuseNodeIds nodeIds;
    private final ExecutorService sender = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("dbfs-attr-invalidation").factory());
    private final Set<String> pending = new LinkedHashSet<>(); // guarded by this, as is sending
    private boolean sending;
    /** libfuse's handle of the mount, read from the first operation that needs it (it is only known inside one). */
    private volatile MemorySegment fuse = MemorySegment.NULL;

    AttrInvalidation(Path libfuse, FuseCallerContext callers, Path mountPoint) {
        this.invalidatePath = LibFuse.function(libfuse, "fuse_invalidate_path", INVALIDATE_PATH);
        this.getSession = LibFuse.function(libfuse, "fuse_get_session", GET_SESSION);
        this.invalEntry = LibFuse.function(libfuse, "fuse_lowlevel_notify_inval_entry", INVAL_ENTRY);
        this.callers = callers;
        this.nodeIds = new FuseNodeIds(mountPoint);
    }

    /** From inside an operation, after its change: the names' cached attributes go shortly after. */
    void later(Collection<String> paths) {
        if (paths.isEmpty()) {
            return;
        }
        if (fuse.equals(MemorySegment.NULL)) {
            try {
                fuse = callers.fuse();
            } catch (IllegalStateException e) {
                log.warn("no libfuse handle outside an operation: {} keep their cached attributes", paths);
                return;
            }
        }
        synchronized (this) {
            pending.addAll(paths);
            if (sending) {
                return;
            }
            sending = true;
        }
        try {
            sender.execute(this::sendPending);
        } catch (RejectedExecutionException e) {
            // closed: the mount is going away, and with it the kernel's caches
        }
    }

    private void sendPending() {
        while (true) {
            List<String> batch;
            synchronized (this) {
                if (pending.isEmpty()) {
                    sending = false;
                    return;
                }
                batch = new ArrayList<>(pending);
                pending.clear();
            }
            try (Arena arena = Arena.ofConfined()) {
                for (String path : batch) {
                    send(path, arena);
                }
            }
        }
    }

    private void send(String path, Arena arena) {
        try {
            // The name first: a stat between the two then shows either the old attributes or all new ones.
            MemorySegment f = fuse;
            int slash = path.lastIndexOf('/');
            OptionalLong dir = nodeIds.of(path.substring(0, slash), arena);
            if (dir.isPresent()) {
                MemorySegment name = arena.allocateFrom(path.substring(slash + 1));
                MemorySegment session = (MemorySegment) getSession.invokeExact(f);
                report("fuse_lowlevel_notify_inval_entry", path,
                        (int) invalEntry.invokeExact(session, dir.getAsLong(), name, name.byteSize() - 1));
            }
            report("fuse_invalidate_path", path, (int) invalidatePath.invokeExact(f, arena.allocateFrom(path)));
        } catch (Throwable t) {
            log.warn("invalidating {} failed: its attributes may be stale for up to the attribute timeout", path, t);
        }
    }

    private static void report(String call, String path, int result) {
        // -ENOENT: neither libfuse nor the kernel holds the name, so nothing is cached for it.
        if (result != 0 && result != -LinuxErrno.ENOENT) {
            log.debug("{} {}: {}", call, path, result);
        }
    }

    /** Must run before libfuse's handle is freed (jfuse's Fuse.close): a later notification would use it. */
    @Override
    public void close() {
        sender.shutdown();
        try {
            if (!sender.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("attribute invalidations still running at unmount");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
