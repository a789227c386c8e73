package org.dbfs.bucket.objectstore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A bucket in a local directory: the embedded default, and what single-machine deployments and
 * tests use.
 *
 * <p>Each key is a file under the root. Every write goes to a temp file in the target directory,
 * is fsynced, atomically renamed over the target, and the directory is fsynced, so after a crash an
 * object is either the old or the new content, never a torn mix. Writes to one key are serialised
 * by {@link LocalKeyLocks} across threads and processes, which is what makes the conditional
 * writes race-safe; readers never lock because a rename swaps whole files.
 *
 * <p>The ETag is a truncated SHA-256 of the content, computed on demand, so {@link #stat} reads the
 * whole object. A key cannot be both an object and a directory of other keys ("a" and "a/b").
 */
public final class LocalObjectStore implements ObjectStore {
    private static final String TEMP_PREFIX = ObjectKeys.RESERVED_PREFIX + "tmp-";
    private static final int ETAG_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;
    private final LocalKeyLocks locks;

    /** Opens (creating if missing) the bucket directory. */
    public LocalObjectStore(Path directory) {
        Path absolute = directory.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute);
            this.root = absolute.toRealPath();
            this.locks = new LocalKeyLocks(root);
            Files.createDirectories(locks.lockDir());
        } catch (IOException e) {
            throw new ObjectStoreUnavailableException(
                    "cannot create or open local bucket directory: path=" + absolute + " (" + describe(e)
                            + "); point the bucket at a writable directory, or create it with the owner"
                            + " and permissions of the user running DbFS",
                    e);
        }
    }

    @Override
    public String describe() {
        return root.toUri().toString();
    }

    @Override
    public void checkReachable() {
        if (!Files.isDirectory(root) || !Files.isDirectory(locks.lockDir())) {
            throw new ObjectStoreUnavailableException(
                    "local bucket directory is missing: path=" + root
                            + "; it was removed or unmounted after start-up, restore it or restart with a valid bucket");
        }
        if (!Files.isWritable(root) || !Files.isWritable(locks.lockDir())) {
            throw new ObjectStoreUnavailableException(
                    "local bucket directory is not writable: path=" + root
                            + "; fix its owner/permissions for the user running DbFS");
        }
    }

    @Override
    public void checkReadable() {
        if (!Files.isDirectory(root) || !Files.isReadable(root) || !Files.isExecutable(root)) {
            throw new ObjectStoreUnavailableException("local bucket directory is missing or not readable: path=" + root
                    + "; fix its owner/permissions for the user reading it");
        }
    }

    @Override
    public Optional<Path> localFile(String key) {
        return Optional.of(pathOf(key));
    }

    @Override
    public byte[] get(String key) {
        Path path = pathOf(key);
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw failure("get", key, path, e);
        }
    }

    @Override
    public byte[] getRange(String key, long offset, int length) {
        Path path = pathOf(key);
        ObjectKeys.requireValidRange(key, offset, length);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (offset >= size || length == 0) {
                return new byte[0];
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(length, size - offset));
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, offset + buffer.position());
                if (n < 0) {
                    break; // cannot happen for a file replaced only by rename, but never spin
                }
            }
            return buffer.position() == buffer.capacity()
                    ? buffer.array()
                    : Arrays.copyOf(buffer.array(), buffer.position());
        } catch (IOException e) {
            throw failure("getRange", key, path, e);
        }
    }

    @Override
    public Optional<VersionedObject> getVersioned(String key) {
        Path path = pathOf(key);
        try {
            byte[] data = Files.readAllBytes(path);
            return Optional.of(new VersionedObject(data, etagOf(data)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (Files.isDirectory(path)) {
                return Optional.empty(); // "a" is only a prefix of other keys, not an object
            }
            throw failure("getVersioned", key, path, e);
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        Path path = pathOf(key);
        try {
            return Optional.of(statFile(path));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            if (Files.isDirectory(path)) {
                return Optional.empty(); // "a" is only a prefix of other keys, not an object
            }
            throw failure("stat", key, path, e);
        }
    }

    @Override
    public String put(String key, byte[] data) {
        return write("put", key, data, Precondition.NONE, null);
    }

    @Override
    public String putIfAbsent(String key, byte[] data) {
        return write("putIfAbsent", key, data, Precondition.ABSENT, null);
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        if (expectedEtag == null || expectedEtag.isEmpty()) {
            throw new IllegalArgumentException("putIfMatch needs the expected ETag: key=" + key);
        }
        return write("putIfMatch", key, data, Precondition.MATCH, expectedEtag);
    }

    @Override
    public List<String> list(String prefix) {
        ObjectKeys.requireValidPrefix(prefix);
        // Walk only the deepest directory the prefix pins down, not the whole bucket.
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        if (!Files.isDirectory(start)) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        try {
            Files.walkFileTree(start, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    return !dir.equals(start) && isReserved(dir) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && !isReserved(file)) {
                        String key = keyOf(file);
                        if (key.startsWith(prefix)) {
                            keys.add(key);
                        }
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE; // deleted while we walked: simply not listed
                    }
                    throw e;
                }
            });
        } catch (IOException e) {
            throw failure("list", prefix, start, e);
        }
        Collections.sort(keys);
        return keys;
    }

    @Override
    public void delete(String key) {
        Path path = pathOf(key);
        try (LocalKeyLocks.Held held = locks.lock(key)) {
            if (Files.deleteIfExists(path)) {
                fsyncDirectory(path.getParent());
            }
        } catch (IOException e) {
            throw failure("delete", key, path, e);
        }
    }

    @Override
    public void close() {
        // Nothing is held between calls.
    }

    @Override
    public String toString() {
        return "LocalObjectStore[" + root + "]";
    }

    private enum Precondition { NONE, ABSENT, MATCH }

    private String write(String op, String key, byte[] data, Precondition precondition, String expectedEtag) {
        Path target = pathOf(key);
        Path temp = null;
        try {
            ensureDirectory(target.getParent());
            // The slow part (write + fsync) happens before taking the lock; only check-and-rename is serialised.
            temp = writeTemp(target.getParent(), data);
            try (LocalKeyLocks.Held held = locks.lock(key)) {
                checkPrecondition(key, target, precondition, expectedEtag);
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                temp = null;
                fsyncDirectory(target.getParent());
            }
            return etagOf(data);
        } catch (IOException e) {
            throw failure(op, key, target, e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // Best effort: temp names are never listed, so a leftover only costs space.
                }
            }
        }
    }

    private void checkPrecondition(String key, Path target, Precondition precondition, String expectedEtag)
            throws IOException {
        switch (precondition) {
            case NONE -> { }
            case ABSENT -> {
                if (Files.exists(target)) {
                    throw new PreconditionFailedException(
                            "object already exists: key=" + key + " bucket=" + describe()
                                    + "; another writer created it first, re-read it and decide again");
                }
            }
            case MATCH -> {
                String current;
                try {
                    current = statFile(target).etag();
                } catch (NoSuchFileException e) {
                    throw new PreconditionFailedException(
                            "object does not exist, expected etag=" + expectedEtag + ": key=" + key
                                    + " bucket=" + describe() + "; it was deleted, re-read and decide again");
                }
                if (!current.equals(expectedEtag)) {
                    throw new PreconditionFailedException(
                            "object changed: key=" + key + " expected etag=" + expectedEtag + " current etag="
                                    + current + " bucket=" + describe() + "; another writer won, re-read and retry");
                }
            }
        }
    }

    private Path writeTemp(Path dir, byte[] data) throws IOException {
        Path temp = dir.resolve(TEMP_PREFIX + Long.toHexString(RANDOM.nextLong()));
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(data);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        return temp;
    }

    /** Creates missing directories, fsyncing each parent so a new directory survives a crash. */
    private void ensureDirectory(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        ensureDirectory(dir.getParent());
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
            return; // a concurrent writer created it and fsyncs the parent itself
        }
        fsyncDirectory(dir.getParent());
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    private static ObjectInfo statFile(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
                InputStream in = Channels.newInputStream(channel)) {
            MessageDigest digest = sha256();
            byte[] buffer = new byte[64 * 1024];
            long size = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                size += n;
            }
            return new ObjectInfo(size, hex(digest.digest()));
        }
    }

    static String etagOf(byte[] data) {
        return hex(sha256().digest(data));
    }

    private static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest, 0, ETAG_BYTES);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK provides SHA-256", e);
        }
    }

    private Path pathOf(String key) {
        Path path = root.resolve(ObjectKeys.requireValid(key)).normalize();
        if (!path.startsWith(root) || path.equals(root)) {
            throw new IllegalArgumentException("object key escapes the bucket directory: key=" + key);
        }
        return path;
    }

    private String keyOf(Path file) {
        return root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
    }

    private static boolean isReserved(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(ObjectKeys.RESERVED_PREFIX);
    }

    private ObjectStoreException failure(String op, String key, Path path, IOException e) {
        String where = "op=" + op + " key=" + key + " path=" + path;
        boolean read = op.equals("get") || op.equals("getRange");
        if (read && (e instanceof NoSuchFileException || Files.isDirectory(path))) {
            return new ObjectNotFoundException("object not found: key=" + key + " bucket=" + describe(), e);
        }
        if (e instanceof AccessDeniedException) {
            return new ObjectStoreException("permission denied: " + where
                    + "; give the user running DbFS read/write access to the bucket directory " + root, e);
        }
        String reason = describe(e);
        if (reason.contains("No space left") || reason.contains("quota")) {
            return new ObjectStoreException("disk full: " + where + " (" + reason
                    + "); free space or raise the quota on the volume holding " + root, e);
        }
        if (reason.contains("Is a directory") || reason.contains("Not a directory")
                || reason.contains("Directory not empty") || e instanceof FileAlreadyExistsException) {
            return new ObjectStoreException("key clashes with a directory of other keys: " + where + " (" + reason
                    + "); the local store cannot hold both \"a\" and \"a/b\", use distinct names", e);
        }
        return new ObjectStoreException("I/O error: " + where + " (" + reason
                + "); check the disk and the bucket directory " + root, e);
    }

    private static String describe(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return e.getClass().getSimpleName() + ": " + fse.getReason();
        }
        return e.toString();
    }
}
