package org.dbfs.pageserver.segment;

import com.github.benmanes.caffeine.cache.Cache;
import org.dbfs.pageserver.store.Caches;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pageserver.format.SegmentFooter;
import org.dbfs.pageserver.format.SegmentRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads block versions out of segment objects: memory cache of opened frames, then the local cache
 * directory (whole segment files; for a bucket on this machine, the object files themselves), then
 * a ranged GET on the object store. A segment read by ranged
 * GET is downloaded whole in the background so later reads stay local.
 *
 * <p>Every frame is authenticated on the way out of the cache directory or the bucket, so a flipped
 * bit anywhere surfaces as an {@link IntegrityException} naming the object, never as wrong bytes.
 * Thread-safe.
 */
public final class SegmentStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SegmentStore.class);

    private final ObjectStore store;
    private final FrameCodec codec;
    private final Path cacheDir;
    private final List<SegmentRef> segments = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Integer, FileChannel> localFiles = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Boolean> downloading = new ConcurrentHashMap<>();
    private final java.util.Set<Integer> retired = ConcurrentHashMap.newKeySet();
    private final Cache<Long, byte[]> frames;
    private final ReadCounts reads = new ReadCounts();
    private final ExecutorService downloader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "segment-download");
        t.setDaemon(true);
        return t;
    });

    public SegmentStore(ObjectStore store, FrameCodec codec, Path cacheDir, long memoryCacheBytes) throws IOException {
        this.store = store;
        this.codec = codec;
        this.cacheDir = cacheDir;
        Files.createDirectories(cacheDir);
        this.frames = Caches.newBuilder()
                .maximumWeight(memoryCacheBytes)
                .weigher((Long k, byte[] v) -> v.length + 64)
                .build();
    }

    /** Where reads were served from, since start. */
    public ReadCounts reads() {
        return reads;
    }

    /** The size in the bucket of the segments in use ({@link #count()}), in bytes. */
    public long bytes() {
        long sum = 0;
        for (int id = 0; id < segments.size(); id++) {
            if (!retired.contains(id)) {
                sum += segments.get(id).getSize();
            }
        }
        return sum;
    }

    /** Makes a segment readable; returns its id (an index into this run's segment list). */
    public synchronized int register(SegmentRef ref) {
        segments.add(ref);
        return segments.size() - 1;
    }

    public SegmentRef ref(int id) {
        return segments.get(id);
    }

    /** Segments in use (registered and not retired). */
    public int count() {
        return segments.size() - retired.size();
    }

    /** All ids ever registered in this run, retired ones included. */
    public int registered() {
        return segments.size();
    }

    public boolean isRetired(int id) {
        return retired.contains(id);
    }

    /**
     * The manifest no longer names segment {@code id} (garbage collection rewrote it). Versions that
     * still point at it, held by a reader in flight, read on until {@link #forget}.
     */
    public void retire(int id) {
        retired.add(id);
    }

    /** Its object is being deleted: drops the cached copy and the open channel. */
    public void forget(int id) {
        evictLocal(id);
    }

    /**
     * Keeps a just-uploaded segment in the cache directory; not for a bucket on this machine, whose
     * object file is read instead (a copy would double what every pack writes).
     */
    public void cacheLocally(String objectName, byte[] bytes) throws IOException {
        if (store.localFile(objectName).isPresent()) {
            return;
        }
        Path target = localPath(objectName);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The segment's footer, after checking its trailer against what the manifest recorded and, where
     * the object is on this machine, its header (see {@link #checkHeader}).
     */
    public SegmentFooter loadFooter(int id) {
        return fromCopyOrBucket(id, local -> readFooter(id, local));
    }

    private SegmentFooter readFooter(int id, boolean local) {
        SegmentRef ref = ref(id);
        String object = describe(ref);
        byte[] trailer = local ? readRaw(id, ref.getSize() - SegmentFormat.TRAILER_LENGTH, SegmentFormat.TRAILER_LENGTH)
                : readRemote(id, ref.getSize() - SegmentFormat.TRAILER_LENGTH, SegmentFormat.TRAILER_LENGTH);
        if (trailer.length != SegmentFormat.TRAILER_LENGTH) {
            throw new IntegrityException(object + " is corrupt: it is shorter than the manifest's " + ref.getSize() + " bytes (truncated)");
        }
        ByteBuffer t = ByteBuffer.wrap(trailer).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = Arrays.copyOfRange(trailer, SegmentFormat.TRAILER_MAGIC_OFFSET, SegmentFormat.TRAILER_LENGTH);
        if (!Arrays.equals(magic, SegmentFormat.TRAILER_MAGIC)
                || t.getLong(SegmentFormat.TRAILER_FOOTER_OFFSET) != ref.getFooterOffset()
                || t.getInt(SegmentFormat.TRAILER_FOOTER_LENGTH) != ref.getFooterLength()) {
            throw new IntegrityException(object + " is corrupt: its trailer is damaged (magic or footer position differ"
                    + " from the manifest's)");
        }
        int version = t.getInt(SegmentFormat.TRAILER_VERSION);
        if (version != SegmentFormat.FORMAT_VERSION) {
            throw new IntegrityException(object + " has format version " + version + " in its trailer, and this page"
                    + " server reads only version " + SegmentFormat.FORMAT_VERSION + ": it was written by a newer page"
                    + " server (upgrade this one), or its trailer is corrupt");
        }
        if (local) {
            checkHeader(id, object);
        }
        byte[] plain = openFrame(id, ref.getFooterOffset(), ref.getFooterLength(), local);
        try {
            return SegmentFooter.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException(object + " is corrupt: its footer authenticates but does not parse", e);
        }
    }

    /**
     * The header holds nothing a reader needs, so it is checked only where that costs no request:
     * on this machine. From a remote bucket it would be one more GET per segment at every start.
     */
    private void checkHeader(int id, String object) {
        if (!Arrays.equals(readRaw(id, 0, SegmentFormat.HEADER_LENGTH), SegmentFormat.header())) {
            throw new IntegrityException(object + " is corrupt: its header is not that of a format "
                    + SegmentFormat.FORMAT_VERSION + " segment, though its trailer is");
        }
    }

    /** The plaintext of the frame at (offset, length) of segment {@code id}. */
    public byte[] read(int id, long offset, int length) {
        long key = ((long) id << 40) | offset;
        byte[] cached = frames.getIfPresent(key);
        if (cached != null) {
            reads.memory.increment();
            return cached;
        }
        byte[] plain = fromCopyOrBucket(id, local -> openFrame(id, offset, length, local));
        frames.put(key, plain);
        return plain;
    }

    /**
     * Reads from the local file if there is one ({@code local} true), else the bucket. A cached copy
     * that fails a check may be the damaged one: it is dropped, and the bucket's is read instead.
     */
    private <T> T fromCopyOrBucket(int id, Function<Boolean, T> read) {
        boolean local = localChannel(id) != null;
        try {
            return read.apply(local);
        } catch (IntegrityException e) {
            if (!local || store.localFile(ref(id).getName()).isPresent()) {
                throw e; // the bucket's own bytes: there is no other copy to read
            }
            log.warn("cached copy of {} failed a check; reading the bucket's", ref(id).getName());
            evictLocal(id);
            return read.apply(false);
        }
    }

    private byte[] openFrame(int id, long offset, int length, boolean local) {
        SegmentRef ref = ref(id);
        byte[] frame = local ? readRaw(id, offset, length) : readRemote(id, offset, length);
        (local ? reads.localSegment : reads.bucket).increment();
        if (frame.length != length) {
            throw new IntegrityException(describe(ref) + " is corrupt: the frame at " + offset + " wants " + length
                    + " bytes, and it ends after " + frame.length + " (truncated)");
        }
        return codec.open(frame, FrameCodec.associatedData(ref.getName(), offset), describe(ref) + " at offset " + offset);
    }

    private String describe(SegmentRef ref) {
        return "segment object " + ref.getName() + " in " + store.describe();
    }

    private byte[] readRaw(int id, long offset, int length) {
        FileChannel local = localChannel(id);
        if (local != null) {
            try {
                ByteBuffer buf = ByteBuffer.allocate(length);
                while (buf.hasRemaining()) {
                    if (local.read(buf, offset + buf.position()) < 0) {
                        break;
                    }
                }
                return buf.position() == length ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
            } catch (IOException e) {
                log.warn("reading cached segment {} failed ({}); reading from the bucket", ref(id).getName(), e.toString());
                evictLocal(id);
            }
        }
        return readRemote(id, offset, length);
    }

    private byte[] readRemote(int id, long offset, int length) {
        byte[] bytes = store.getRange(ref(id).getName(), offset, length);
        scheduleDownload(id);
        return bytes;
    }

    private FileChannel localChannel(int id) {
        FileChannel ch = localFiles.get(id);
        if (ch != null) {
            return ch;
        }
        String name = ref(id).getName();
        Path path = store.localFile(name).orElseGet(() -> localPath(name));
        if (!Files.exists(path)) {
            return null;
        }
        return localFiles.computeIfAbsent(id, i -> {
            try {
                return FileChannel.open(path, StandardOpenOption.READ);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private void evictLocal(int id) {
        FileChannel ch = localFiles.remove(id);
        try {
            if (ch != null) {
                ch.close();
            }
            if (store.localFile(ref(id).getName()).isEmpty()) { // never the bucket's own object
                Files.deleteIfExists(localPath(ref(id).getName()));
            }
        } catch (IOException e) {
            log.warn("could not drop cached segment {}: {}", ref(id).getName(), e.toString());
        }
    }

    private void scheduleDownload(int id) {
        if (downloading.putIfAbsent(id, Boolean.TRUE) != null) {
            return;
        }
        downloader.execute(() -> {
            SegmentRef ref = ref(id);
            try {
                cacheLocally(ref.getName(), store.get(ref.getName()));
            } catch (RuntimeException | IOException e) {
                log.warn("background download of {} failed: {}", ref.getName(), e.toString());
                downloading.remove(id);
            }
        });
    }

    private Path localPath(String objectName) {
        return cacheDir.resolve(objectName.replace('/', '_'));
    }

    @Override
    public void close() {
        downloader.shutdownNow();
        for (FileChannel ch : localFiles.values()) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing a read-only channel; nothing is lost
            }
        }
    }
}
