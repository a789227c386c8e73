package org.dbfs.fuse;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.dbfs.pgformat.PageHeader;
import org.dbfs.pgformat.PgConstants;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.PageImage;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


/**
 * POSIX behaviour of the read-write mount: a real page server, a real FUSE mount (needs root and
 * /dev/fuse), file operations through the kernel. The mount talks gRPC over TCP here and the page
 * server's Unix-domain socket in {@link ReadWriteMountOverSocketTest}.
 */
class ReadWriteMountTest {

    private static final int NOBODY = 65534;

    @TempDir
    Path tmp;
    private MountFixture fixture;
    private Path mnt;

    @BeforeAll
    static void needsFuse() throws IOException {
        assertTrue(Files.exists(Path.of("/dev/fuse")), "these tests mount FUSE: /dev/fuse is missing");
        assertTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0, "these tests mount FUSE with allow_other and chown: run them as root");
    }

    /** Whether the mount talks to the page server over its Unix-domain socket rather than gRPC. */
    boolean overSocket() {
        return false;
    }

    @BeforeEach
    void mount() throws Exception {
        fixture = MountFixture.start(tmp, overSocket());
        mnt = fixture.mountPoint;
    }

    @AfterEach
    void unmount() throws Exception {
        if (fixture != null) {
            fixture.close();
        }
    }

    @Test
    void writeThenReadBack() throws IOException {
        Path f = mnt.resolve("hello.txt");
        Files.writeString(f, "hello, page server");
        assertEquals("hello, page server", Files.readString(f));
        assertEquals(18, Files.size(f));

        byte[] big = new byte[5 << 20]; // several max_write chunks
        new Random(7).nextBytes(big);
        Path g = mnt.resolve("big.bin");
        Files.write(g, big);
        assertArrayEquals(big, Files.readAllBytes(g));

        try (FileChannel ch = FileChannel.open(g, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("patch".getBytes()), 1_000_003);
        }
        System.arraycopy("patch".getBytes(), 0, big, 1_000_003, 5);
        assertArrayEquals(big, Files.readAllBytes(g));
    }

    @Test
    void holesReadAsZeros() throws IOException {
        Path f = mnt.resolve("sparse");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{1, 2, 3}), 3 * 8192 + 100);
        }
        byte[] data = Files.readAllBytes(f);
        assertEquals(3 * 8192 + 103, data.length);
        for (int i = 0; i < 3 * 8192 + 100; i++) {
            assertEquals(0, data[i], "byte " + i);
        }
        assertArrayEquals(new byte[]{1, 2, 3}, Arrays.copyOfRange(data, data.length - 3, data.length));
    }

    @Test
    void truncateGrowsWithZerosAndShrinks() throws IOException {
        Path f = mnt.resolve("t");
        byte[] content = new byte[20000];
        Arrays.fill(content, (byte) 9);
        Files.write(f, content);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(10001);
        }
        assertEquals(10001, Files.size(f));
        assertArrayEquals(Arrays.copyOf(content, 10001), Files.readAllBytes(f));

        new ProcessRunner("truncate", "-s", "30000", f.toString()).run();
        byte[] grown = Files.readAllBytes(f);
        assertEquals(30000, grown.length);
        for (int i = 10001; i < 30000; i++) {
            assertEquals(0, grown[i], "grown byte " + i);
        }
        Files.write(f, new byte[0], StandardOpenOption.TRUNCATE_EXISTING);
        assertEquals(0, Files.size(f));
    }

    @Test
    void exclusiveCreateFailsOnExistingFile() throws IOException {
        Path f = mnt.resolve("once");
        Files.createFile(f);
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(f));
        assertThrows(FileAlreadyExistsException.class, () -> Files.write(f, new byte[1], StandardOpenOption.CREATE_NEW));
        Files.write(f, new byte[]{5}, StandardOpenOption.CREATE); // plain O_CREAT opens the existing file
        assertArrayEquals(new byte[]{5}, Files.readAllBytes(f));
    }

    @Test
    void renameReplacesTargetAtomically() throws IOException {
        Path a = mnt.resolve("a");
        Path b = mnt.resolve("b");
        Files.writeString(a, "new");
        Files.writeString(b, "old");
        try (FileChannel reader = FileChannel.open(b, StandardOpenOption.READ)) {
            Files.move(a, b, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            assertEquals("new", Files.readString(b));
            assertFalse(Files.exists(a));
            ByteBuffer old = ByteBuffer.allocate(10);
            reader.read(old, 0);
            assertEquals("old", new String(old.array(), 0, old.position()), "the replaced file stays readable while open");
        }
        assertEquals(List.of("b"), list(mnt));

        Path dir = Files.createDirectory(mnt.resolve("dir"));
        Files.move(b, dir.resolve("c"), StandardCopyOption.ATOMIC_MOVE);
        assertEquals("new", Files.readString(dir.resolve("c")));
    }

    @Test
    void unlinkedOpenFileStaysReadableAndLeavesNoTrace() throws IOException {
        Path dir = Files.createDirectory(mnt.resolve("d"));
        Path f = dir.resolve("doomed");
        Files.writeString(f, "still here");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Files.delete(f);
            assertFalse(Files.exists(f));
            assertEquals(List.of(), list(dir), "no .fuse_hidden names in the directory");
            ByteBuffer buf = ByteBuffer.allocate(20);
            ch.read(buf, 0);
            assertEquals("still here", new String(buf.array(), 0, buf.position()));
            ch.write(ByteBuffer.wrap("STILL".getBytes()), 0);
            buf.clear();
            ch.read(buf, 0);
            assertEquals("STILL here", new String(buf.array(), 0, buf.position()));
            assertEquals(10, ch.size());
            Files.delete(dir); // empty as far as anyone can see
            // libfuse has lost the file's path now and passes NULL (see NullPathGuard): still usable.
            buf.clear();
            ch.read(buf, 0);
            assertEquals("STILL here", new String(buf.array(), 0, buf.position()));
            ch.write(ByteBuffer.wrap("!".getBytes()), 10);
            ch.force(true);
            // (fstat is the exception: the kernel sends it without the file handle, and libfuse
            // answers ESTALE for a path it lost before the mount is asked.)
        }
        assertFalse(Files.exists(dir));
    }

    @Test
    void mkdirAndRmdir() throws IOException {
        Path d = Files.createDirectory(mnt.resolve("d"));
        Files.createDirectory(d.resolve("e"));
        Files.writeString(d.resolve("e/f"), "x");
        assertTrue(Files.isDirectory(d.resolve("e")));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(d.resolve("e")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(d));
        Files.delete(d.resolve("e/f"));
        Files.delete(d.resolve("e"));
        Files.delete(d);
        assertThrows(NoSuchFileException.class, () -> Files.delete(d));
        assertEquals(List.of(), list(mnt));
    }

    /** readdir(3) as ls sees it: "." and ".." are listed, with the inode numbers stat gives. */
    @Test
    void dotAndDotDotAreListedWithTheirInodes() throws Exception {
        Path d = Files.createDirectories(mnt.resolve("a/b"));
        Files.writeString(d.resolve("f"), "x");
        for (Path dir : List.of(d, mnt)) {
            Process ls = new ProcessBuilder("ls", "-a1i", dir.toString()).redirectErrorStream(true).start();
            Map<String, Long> inodes = new java.util.TreeMap<>();
            for (String line : new String(ls.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split("\\s+", 2);
                if (f.length == 2) {
                    inodes.put(f[1], Long.parseLong(f[0]));
                }
            }
            assertEquals(0, ls.waitFor(), "ls -a " + dir);
            Path parent = dir.getParent(); // at the mount's root, ls shows the mount point's own parent
            assertEquals(Files.getAttribute(dir, "unix:ino"), inodes.get("."), dir + ": . in " + inodes);
            assertEquals(Files.getAttribute(parent, "unix:ino"), inodes.get(".."), dir + ": .. in " + inodes);
        }
    }

    @Test
    void overlongNamesAreTooLongForEveryPathOperationNotMissing() throws IOException {
        String tooLong = "n".repeat(256);
        Files.createDirectory(mnt.resolve("d"));
        Files.writeString(mnt.resolve("f"), "x");
        Path[] paths = {mnt.resolve(tooLong), mnt.resolve(tooLong).resolve("child"), mnt.resolve("d").resolve(tooLong)};
        for (Path p : paths) {
            List<ThrowingOp> ops = List.of(
                    () -> Files.readAttributes(p, "unix:mode"), // stat
                    () -> Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------")), // chmod
                    () -> Files.delete(p), // unlink / rmdir
                    () -> Files.newByteChannel(p, StandardOpenOption.READ).close(), // open without O_CREAT
                    () -> Files.newByteChannel(p, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING).close(),
                    () -> Files.createFile(p),
                    () -> Files.createDirectory(p),
                    () -> Files.createSymbolicLink(p, Path.of("f")),
                    () -> Files.move(mnt.resolve("f"), p),
                    () -> Files.setLastModifiedTime(p, FileTime.from(Instant.EPOCH)));
            for (int i = 0; i < ops.size(); i++) {
                ThrowingOp op = ops.get(i);
                java.nio.file.FileSystemException e = assertThrows(java.nio.file.FileSystemException.class, op::run,
                        "operation " + i + " on " + p.getFileName());
                assertEquals("File name too long", e.getReason(), "operation " + i + " on " + mnt.relativize(p) + ": " + e);
            }
        }
        String longest = "m".repeat(255);
        Files.writeString(mnt.resolve("d").resolve(longest), "255 bytes is allowed");
        assertEquals("255 bytes is allowed", Files.readString(mnt.resolve("d").resolve(longest)));
        String multiByte = "é".repeat(128); // 256 bytes in UTF-8, 128 characters
        assertEquals("File name too long", assertThrows(java.nio.file.FileSystemException.class,
                () -> Files.createFile(mnt.resolve(multiByte))).getReason());
    }

    @Test
    void hardLinksAreOneFileUnderTwoNames() throws Exception {
        Path a = Files.writeString(Files.createDirectory(mnt.resolve("d")).resolve("a"), "first");
        Path b = Files.createLink(mnt.resolve("b"), a);
        assertEquals(Files.getAttribute(a, "unix:ino"), Files.getAttribute(b, "unix:ino"), "one inode");
        assertEquals(2, (int) Files.getAttribute(a, "unix:nlink"));
        Files.writeString(b, "written through b");
        assertEquals("written through b", Files.readString(a));
        Files.move(a, b, StandardCopyOption.REPLACE_EXISTING); // two names of one file: rename does nothing
        assertTrue(Files.exists(a) && Files.exists(b));
        assertEquals(2, (int) Files.getAttribute(b, "unix:nlink"));

        assertThrows(FileAlreadyExistsException.class, () -> Files.createLink(b, a));
        java.nio.file.FileSystemException dir = assertThrows(java.nio.file.FileSystemException.class,
                () -> Files.createLink(mnt.resolve("dlink"), mnt.resolve("d")));
        assertTrue(dir.getMessage().endsWith("Operation not permitted"), dir.getMessage());
        assertThrows(NoSuchFileException.class, () -> Files.createLink(mnt.resolve("c"), mnt.resolve("missing")));

        assertEquals(0, fixture.unmount());
        fixture.mount();
        assertEquals(2, (int) Files.getAttribute(b, "unix:nlink"), "the link outlives the mount");
        Files.delete(a);
        assertEquals("written through b", Files.readString(b), "the file stays under its other name");
        assertEquals(1, (int) Files.getAttribute(b, "unix:nlink"));
        Files.delete(b);
        assertEquals(List.of("d"), list(mnt));
    }

    /**
     * libfuse gives each name of a file its own kernel inode, whose attributes the kernel caches for
     * 60 s: a change through one name must reach the others (the mount invalidates them), not only
     * the name it went through. {@link #assertSoon}: the invalidation follows the operation's reply.
     */
    @Test
    void linkUnlinkAndRenameShowInTheLinkCountOfEveryName() throws Exception {
        Path a = Files.writeString(Files.createDirectory(mnt.resolve("d")).resolve("a"), "x");
        assertEquals(1, nlink(a)); // cached from here on
        Path b = Files.createLink(mnt.resolve("b"), a);
        assertSoon(2, () -> nlink(a), "a after link a b");
        Path c = Files.createLink(mnt.resolve("d/c"), b);
        assertSoon(3, () -> nlink(a), "a after link b c");
        assertSoon(3, () -> nlink(b), "b after link b c");
        Files.delete(c);
        assertSoon(2, () -> nlink(a), "a after unlink c");
        assertSoon(2, () -> nlink(b), "b after unlink c");
        Files.move(mnt.resolve("d"), Files.createDirectory(mnt.resolve("f")).resolve("d")); // the names in it move along
        Path moved = mnt.resolve("f/d/a");
        assertEquals(2, nlink(moved));
        Files.move(Files.writeString(mnt.resolve("other"), "y"), b, StandardCopyOption.REPLACE_EXISTING);
        assertSoon(1, () -> nlink(moved), "a after b was replaced by a rename");
        assertEquals("x", Files.readString(moved));
    }

    @Test
    void attributeChangesThroughOneNameShowThroughTheOthers() throws Exception {
        Path a = Files.writeString(mnt.resolve("a"), "1234");
        Path b = Files.createLink(mnt.resolve("b"), a);
        FileTime ctimeBefore = (FileTime) Files.getAttribute(a, "unix:ctime");
        assertEquals(2, nlink(a));
        Thread.sleep(10);

        Files.setPosixFilePermissions(b, PosixFilePermissions.fromString("rw-------"));
        assertSoon("rw-------", () -> PosixFilePermissions.toString(Files.getPosixFilePermissions(a)), "a's mode after chmod b");
        assertTrue(((FileTime) Files.getAttribute(a, "unix:ctime")).compareTo(ctimeBefore) > 0, "a's ctime after chmod b");
        Files.setAttribute(b, "unix:uid", NOBODY);
        assertSoon(NOBODY, () -> Files.getAttribute(a, "unix:uid"), "a's owner after chown b");
        FileTime mtime = FileTime.from(Instant.parse("2001-02-03T04:05:06Z"));
        Files.setLastModifiedTime(b, mtime);
        assertSoon(mtime, () -> Files.getLastModifiedTime(a), "a's mtime after utimens b");
        // Sizes too, which the kernel's writeback cache keeps for a regular file whatever getattr says.
        Files.writeString(b, "longer, through b");
        assertSoon(17L, () -> Files.size(a), "a's size after a write through b");
        try (FileChannel ch = FileChannel.open(b, StandardOpenOption.WRITE)) {
            ch.truncate(3);
        }
        assertSoon(3L, () -> Files.size(a), "a's size after ftruncate through b");
        assertEquals("lon", Files.readString(a));
    }

    @Test
    void fifosDeviceNodesAndSocketsAreSpecialFilesThatOutliveTheMount() throws Exception {
        Path fifo = mnt.resolve("fifo");
        new ProcessRunner("mkfifo", "-m", "0640", fifo.toString()).run();
        new ProcessRunner("mknod", mnt.resolve("null").toString(), "c", "1", "3").run();
        new ProcessRunner("mknod", mnt.resolve("loop").toString(), "b", "7", "200").run();
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(mnt.resolve("sock"))); // bind(2) makes the socket file
        }
        assertSpecialFiles();
        assertThrows(IOException.class, () -> new ProcessRunner("mkfifo", fifo.toString()).run(), "mkfifo over a FIFO");
        assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(mnt.resolve("null")));

        // A FIFO's data goes through the kernel's pipe, not the page server.
        var reader = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Files.readString(fifo);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Files.writeString(fifo, "through the pipe");
        assertEquals("through the pipe", reader.get(30, TimeUnit.SECONDS));

        assertEquals(0, fixture.unmount());
        fixture.mount();
        assertSpecialFiles();
        Files.delete(fifo);
        Files.delete(mnt.resolve("sock"));
        assertEquals(List.of("loop", "null"), list(mnt));
    }

    private void assertSpecialFiles() throws IOException {
        assertEquals(0010640, (int) Files.getAttribute(mnt.resolve("fifo"), "unix:mode") & 0177777, "a FIFO, rw-r-----");
        assertEquals(0020000, (int) Files.getAttribute(mnt.resolve("null"), "unix:mode") & 0170000);
        assertEquals((1L << 8) | 3, (long) Files.getAttribute(mnt.resolve("null"), "unix:rdev"), "makedev(1, 3)");
        assertEquals(0060000, (int) Files.getAttribute(mnt.resolve("loop"), "unix:mode") & 0170000);
        assertEquals((7L << 8) | 200, (long) Files.getAttribute(mnt.resolve("loop"), "unix:rdev"), "makedev(7, 200)");
        assertEquals(0140000, (int) Files.getAttribute(mnt.resolve("sock"), "unix:mode") & 0170000);
        assertEquals(0, (long) Files.getAttribute(mnt.resolve("fifo"), "size"));
    }

    /** Not implemented, and said so the way Linux says it for a file system without them (docs/dbfs-mount.md). */
    @Test
    void extendedAttributesAndFallocateAreNotSupportedAndChangeNothing() throws Exception {
        Path f = Files.writeString(mnt.resolve("f"), "data");
        var xattrs = Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class);
        java.nio.file.FileSystemException set = assertThrows(java.nio.file.FileSystemException.class,
                () -> xattrs.write("dbfs.test", ByteBuffer.wrap(new byte[] {1})));
        assertTrue(set.getMessage().endsWith("Operation not supported"), set.getMessage());
        java.nio.file.FileSystemException list = assertThrows(java.nio.file.FileSystemException.class, xattrs::list);
        assertTrue(list.getMessage().endsWith("Operation not supported"), list.getMessage());
        Process p = new ProcessBuilder("fallocate", "-l", "1048576", f.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(1, p.waitFor(), out);
        assertTrue(out.contains("Operation not supported"), out);
        assertEquals("data", Files.readString(f));
        assertEquals(4, Files.size(f), "a refused fallocate does not grow the file");
    }

    @FunctionalInterface
    interface ThrowingOp {
        void run() throws IOException;
    }

    @Test
    void symlinks() throws IOException {
        Files.writeString(mnt.resolve("target"), "via link");
        Path link = Files.createSymbolicLink(mnt.resolve("link"), Path.of("target"));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(Path.of("target"), Files.readSymbolicLink(link));
        assertEquals("via link", Files.readString(link));
        Path dangling = Files.createSymbolicLink(mnt.resolve("dangling"), Path.of("/nowhere/at/all"));
        assertEquals(Path.of("/nowhere/at/all"), Files.readSymbolicLink(dangling));
        assertFalse(Files.exists(dangling));
    }

    @Test
    void chmodChownUtimensShowInStat() throws IOException {
        Path f = mnt.resolve("attrs");
        Files.writeString(f, "x");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        Files.setAttribute(f, "unix:uid", 1234);
        Files.setAttribute(f, "unix:gid", 5678);
        assertEquals(1234, Files.getAttribute(f, "unix:uid"));
        assertEquals(5678, Files.getAttribute(f, "unix:gid"));
        FileTime mtime = FileTime.from(Instant.parse("2001-02-03T04:05:06.123456789Z"));
        FileTime atime = FileTime.from(Instant.parse("2002-03-04T05:06:07Z"));
        Files.setLastModifiedTime(f, mtime);
        Files.setAttribute(f, "basic:lastAccessTime", atime);
        assertEquals(mtime, Files.getLastModifiedTime(f));
        assertEquals(atime, Files.getAttribute(f, "basic:lastAccessTime"));
        Files.setPosixFilePermissions(mnt, PosixFilePermissions.fromString("rwx------"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(mnt)));
    }

    /**
     * The mount answers getattr on open files from what it knows (the writeback cache asks around
     * every write): each change, through the handle or through the path, must show in fstat.
     */
    @Test
    void fstatOfAnOpenFileFollowsEveryChange() throws IOException {
        Path f = mnt.resolve("open-attrs");
        String script = String.join("\n",
                "import os, sys",
                "p = sys.argv[1]",
                "fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)",
                "page = b'x' * 8192",
                "def check(what, get, want, poke=True):",
                "    if poke:  # a whole-page write: buffered, and the kernel asks for the attributes by handle",
                "        os.pwrite(fd, page, 0); os.fdatasync(fd)",
                "    got = get(os.fstat(fd))",
                "    if got != want: sys.exit(f'{what}: fstat shows {got}, expected {want}')",
                "size = lambda st: st.st_size",
                "check('size after a page', size, 8192)",
                "os.pwrite(fd, page, 3 * 8192); os.fdatasync(fd)",
                "check('size after a later page', size, 4 * 8192)",
                "os.fchmod(fd, 0o600)",
                "check('mode after fchmod', lambda st: st.st_mode & 0o7777, 0o600)",
                "os.chmod(p, 0o640)",
                "check('mode after chmod by path', lambda st: st.st_mode & 0o7777, 0o640)",
                "os.fchown(fd, 1234, 5678)",
                "check('owner after fchown', lambda st: (st.st_uid, st.st_gid), (1234, 5678))",
                "os.chown(p, 4321, 8765)",
                "check('owner after chown by path', lambda st: (st.st_uid, st.st_gid), (4321, 8765))",
                "os.ftruncate(fd, 5000)",
                "check('size after ftruncate', size, 5000, poke=False)",
                "os.pwrite(fd, b'abc', 10000)",
                "check('size after a partial write', size, 10003, poke=False)",
                "os.truncate(p, 100)",
                "check('size after truncate by path', size, 100, poke=False)",
                "os.utime(fd, ns=(1_000_000_000, 2_000_000_000))",
                "check('mtime after futimens', lambda st: st.st_mtime_ns, 2_000_000_000, poke=False)",
                "os.rename(p, p + '.moved'); os.chmod(p + '.moved', 0o604); os.rename(p + '.moved', p)",
                "check('mode after renames', lambda st: st.st_mode & 0o7777, 0o604)",
                "os.pwrite(fd, page, 8 * 8192); os.fsync(fd)",
                "check('size after a page past the end', size, 9 * 8192)",
                "os.close(fd)");
        new ProcessRunner("python3", "-c", script, f.toString()).run();
        assertEquals(9 * 8192L, Files.size(f));
    }

    @Test
    void newFilesBelongToTheCaller() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x")); // JUnit's is 0700
        Files.setPosixFilePermissions(mnt, PosixFilePermissions.fromString("rwxrwxrwx"));
        new ProcessRunner("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                "sh", "-c", "echo hi > " + mnt.resolve("byNobody") + " && mkdir " + mnt.resolve("dirByNobody")
                + " && ln -s x " + mnt.resolve("linkByNobody")).run();
        for (String name : List.of("byNobody", "dirByNobody", "linkByNobody")) {
            Path p = mnt.resolve(name);
            assertEquals(NOBODY, Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS), name);
            assertEquals(NOBODY, Files.getAttribute(p, "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS), name);
        }
        Files.writeString(mnt.resolve("byRoot"), "x");
        assertEquals(0, Files.getAttribute(mnt.resolve("byRoot"), "unix:uid"));
        // The kernel enforces modes (default_permissions): nobody may not write into a 0755 directory.
        Path closed = Files.createDirectory(mnt.resolve("closed"));
        int exit = new ProcessRunner("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                "touch", closed.resolve("x").toString()).exitCode();
        assertTrue(exit != 0, "write into a directory without permission must fail");
    }

    @Test
    void statfsReportsTheStore() throws IOException {
        var store = Files.getFileStore(mnt);
        assertTrue(store.getTotalSpace() > 0);
        assertTrue(store.getUsableSpace() >= 0);
    }

    @Test
    void fsyncAndODsyncReturnOnlyAfterThePageServersJournalWasForced() throws IOException {
        AtomicInteger forces = new AtomicInteger();
        fixture.pageStore().forceJournalWith((ch, metaData) -> {
            forces.incrementAndGet();
            ch.force(metaData);
        });
        Path dir = Files.createDirectory(mnt.resolve("d"));
        try (FileChannel ch = FileChannel.open(dir.resolve("f"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[100]));
            int before = forces.get();
            ch.force(true);
            assertTrue(forces.get() > before, "fsync of a written file forced the journal");
            ch.write(ByteBuffer.wrap(new byte[100]));
            before = forces.get();
            ch.force(false);
            assertTrue(forces.get() > before, "fdatasync of a written file forced the journal");
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true); // the entries were made durable with the file: nothing more to force, and no error
        }
        try (FileChannel s = FileChannel.open(mnt.resolve("osync"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, StandardOpenOption.DSYNC)) {
            int before = forces.get();
            s.write(ByteBuffer.wrap("durable on return".getBytes()));
            assertTrue(forces.get() > before, "an O_DSYNC write returned after a journal force");
        }
    }

    @Test
    void fsyncFailsWhenThePageServersDiskFailsItsFsync() throws Exception {
        Path f = mnt.resolve("f");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("written".getBytes()));
            ch.force(true);
            fixture.pageStore().forceJournalWith((c, metaData) -> {
                throw new IOException("injected EIO from fsync");
            });
            ch.write(ByteBuffer.wrap("not durable".getBytes()), 0);
            assertThrows(IOException.class, () -> ch.force(true), "the journal's fsync failed: so does the mount's");
            fixture.pageStore().forceJournalWith(FileChannel::force);
            ch.write(ByteBuffer.wrap("again".getBytes()), 0);
            // Linux reports a writeback error once; the journal does not pretend the disk recovered.
            assertThrows(IOException.class, () -> ch.force(true), "a failed journal stays failed");
        }
        fixture.unmount();
        IOException stop = assertThrows(IOException.class, fixture::stopPageServer, "a failed journal is not packed");
        assertTrue(stop.getMessage().contains("failed (an fsync)"), stop.getMessage());
    }

    @Test
    void oDsyncWritesAreDurableOnReturnAndCoherentWithCachedOpens() throws Exception {
        Path f = mnt.resolve("wal");
        byte[] a = filled(16384, 'A');
        Files.write(f, a);
        try (FileChannel cached = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileChannel dsync = FileChannel.open(f, StandardOpenOption.WRITE, StandardOpenOption.READ,
                     StandardOpenOption.DSYNC)) {
            assertArrayEquals(a, readAt(cached, 0, a.length), "page cache filled by this read");
            dsync.write(ByteBuffer.wrap(filled(8192, 'B')), 8192);
            assertArrayEquals(filled(8192, 'B'), readAt(cached, 8192, 8192), "a cached open sees the O_DSYNC write");
            dsync.write(ByteBuffer.wrap(filled(100, 'C')), 24576); // grows the file past a hole
            assertEquals(24676, Files.size(f));
            assertArrayEquals(new byte[8192], readAt(cached, 16384, 8192), "the hole reads as zeros");

            cached.write(ByteBuffer.wrap(filled(10, 'D')), 0); // in the page cache only, not yet fsynced
            assertArrayEquals(filled(10, 'D'), readAt(dsync, 0, 10), "the O_DSYNC open sees a cached write");
            cached.force(false);

            dsync.write(ByteBuffer.wrap(filled(8192, 'E')), 8192);
            fixture.stopPageServer();
            fixture.startPageServer();
            // Had the mount acknowledged the O_DSYNC write before it was durable, this fsync would
            // report the restart as lost writes (see the test below).
            dsync.force(false);
        }
        byte[] expected = new byte[24676];
        System.arraycopy(filled(10, 'D'), 0, expected, 0, 10);
        System.arraycopy(a, 10, expected, 10, 8182);
        System.arraycopy(filled(8192, 'E'), 0, expected, 8192, 8192);
        System.arraycopy(filled(100, 'C'), 0, expected, 24576, 100);
        fixture.unmount();
        fixture.mount();
        assertArrayEquals(expected, Files.readAllBytes(f), "as written, from the restarted page server");
    }

    private static byte[] filled(int length, char c) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) c);
        return b;
    }

    private static byte[] readAt(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining() && ch.read(buf, position + buf.position()) >= 0) {
        }
        return buf.array();
    }

    @Test
    void fsyncFailsOnceAfterPageServerRestartLostUnsyncedWrites() throws Exception {
        Path f = mnt.resolve("f");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("unsynced".getBytes()));
            fixture.stopPageServer();
            fixture.startPageServer();
            // A new incarnation acknowledges nothing of the old one's unsynced writes: never a false success.
            assertThrows(IOException.class, () -> ch.force(true));
            ch.write(ByteBuffer.wrap("again".getBytes()), 0);
            ch.force(true); // reported once; later writes under the new incarnation sync fine
        }
    }

    @Test
    void wholePageWritesWaitInTheMountUntilFsyncYetReadBackAtOnce() throws Exception {
        Path db = Files.createDirectories(mnt.resolve("base/6"));
        byte[] pages = relationPages(3, 0x4_0000_0040L);
        RelTag rel = RelTag.newBuilder().setSpcNode(1663).setDbNode(6).setRelNode(16500).build();
        ManagedChannel channel = NettyChannelBuilder.forTarget(fixture.grpcAddress()).usePlaintext().build();
        try (FileChannel ch = FileChannel.open(db.resolve("16500"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            var server = PageServerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            ch.write(ByteBuffer.wrap(pages), 0);
            assertEquals(3 * 8192, Files.size(db.resolve("16500")));
            ByteBuffer back = ByteBuffer.allocate(pages.length);
            ch.read(back, 0);
            assertArrayEquals(pages, back.array(), "read-your-writes before fsync");
            assertTrue(server.getPages(GetPagesRequest.newBuilder().addPages(PageRef.newBuilder().setRel(rel)).build())
                    .getPages(0).getAbsent(), "not sent before fsync: the mount buffers whole pages");

            ch.truncate(8192 + 100); // drops a buffered page and zeroes the rest of the one cut through
            ch.force(false);
            List<PageImage> images = server.getPages(GetPagesRequest.newBuilder()
                    .addPages(PageRef.newBuilder().setRel(rel).setBlockNum(0))
                    .addPages(PageRef.newBuilder().setRel(rel).setBlockNum(1))
                    .addPages(PageRef.newBuilder().setRel(rel).setBlockNum(2)).build()).getPagesList();
            assertEquals(ByteString.copyFrom(pages, 0, 8192), images.get(0).getData(), "sent by fsync");
            byte[] cut = java.util.Arrays.copyOfRange(pages, 8192, 16384);
            java.util.Arrays.fill(cut, 100, 8192, (byte) 0);
            assertEquals(ByteString.copyFrom(cut), images.get(1).getData());
            assertTrue(images.get(2).getAbsent(), "truncated away before it was ever sent");
        } finally {
            channel.shutdownNow();
        }
        assertEquals(8192 + 100, Files.size(db.resolve("16500")));
    }

    @Test
    void dataSurvivesUnmountAndRemount() throws Exception {
        Path dir = Files.createDirectories(mnt.resolve("base/5"));
        byte[] data = new byte[300_000];
        new Random(3).nextBytes(data);
        Files.write(dir.resolve("plain.bin"), data);
        Files.createSymbolicLink(mnt.resolve("link"), Path.of("base/5/plain.bin"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        byte[] pages = relationPages(4, 0x1_0000_2000L);
        Files.write(dir.resolve("16384"), pages);

        assertEquals(0, fixture.unmount(), "final sync at unmount");
        fixture.stopPageServer();
        fixture.startPageServer();
        fixture.mount();

        assertArrayEquals(data, Files.readAllBytes(dir.resolve("plain.bin")));
        assertArrayEquals(data, Files.readAllBytes(mnt.resolve("link")));
        assertArrayEquals(pages, Files.readAllBytes(dir.resolve("16384")));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    }

    @Test
    void relationFilesBecomePagesVersionedByPdLsn() throws Exception {
        Path db = Files.createDirectories(mnt.resolve("base/5"));
        byte[] pages = relationPages(3, 0x2_0000_0100L);
        Files.write(db.resolve("16384_vm"), pages);
        // A write that is not whole pages (never PostgreSQL, but cp/dd may): the pages are merged.
        try (FileChannel ch = FileChannel.open(db.resolve("16384_vm"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{42}), 8192 + 500);
        }
        pages[8192 + 500] = 42;
        assertArrayEquals(pages, Files.readAllBytes(db.resolve("16384_vm")));

        // A tablespace whose location is inside the mount: the kernel resolves pg_tblspc/16400 before we see the path.
        Path location = Files.createDirectories(mnt.resolve("spaces/fast"));
        Files.createDirectories(mnt.resolve("pg_tblspc"));
        Files.createSymbolicLink(mnt.resolve("pg_tblspc/16400"), location);
        Path tsDb = Files.createDirectories(mnt.resolve("pg_tblspc/16400/PG_15_202209061/5"));
        byte[] tsPages = relationPages(1, 0x3_0000_0000L);
        Files.write(tsDb.resolve("16402"), tsPages);
        assertArrayEquals(tsPages, Files.readAllBytes(location.resolve("PG_15_202209061/5/16402")));

        ManagedChannel channel = NettyChannelBuilder.forTarget(fixture.grpcAddress()).usePlaintext().build();
        try {
            RelTag vm = RelTag.newBuilder().setSpcNode(1663).setDbNode(5).setRelNode(16384).setForkNum(2).build();
            GetPagesRequest.Builder request = GetPagesRequest.newBuilder();
            for (int block = 0; block < 3; block++) {
                request.addPages(PageRef.newBuilder().setRel(vm).setBlockNum(block));
            }
            List<PageImage> images = PageServerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .getPages(request.build()).getPagesList();
            for (int block = 0; block < 3; block++) {
                PageImage image = images.get(block);
                assertFalse(image.getAbsent(), "block " + block);
                assertEquals(PageHeader.PageGetLSN(pages, block * 8192), image.getLsn(), "pd_lsn of block " + block);
                assertEquals(ByteString.copyFrom(pages, block * 8192, 8192), image.getData());
            }
            RelTag ts = RelTag.newBuilder().setSpcNode(16400).setDbNode(5).setRelNode(16402).build();
            PageImage tsImage = PageServerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .getPages(GetPagesRequest.newBuilder().addPages(PageRef.newBuilder().setRel(ts)).build()).getPages(0);
            assertFalse(tsImage.getAbsent(), "tablespace relation stored under spcNode 16400");
            assertEquals(0x3_0000_0000L, tsImage.getLsn());
        } finally {
            channel.shutdownNow();
        }
        // Not relation files: plain data, not pages.
        Files.writeString(db.resolve("PG_VERSION"), "15\n");
        Files.writeString(db.resolve("t3_16390"), "temp relation");
        assertEquals("15\n", Files.readString(db.resolve("PG_VERSION")));
    }

    private static byte[] relationPages(int count, long firstLsn) {
        byte[] pages = new byte[count * PgConstants.BLCKSZ];
        new Random(count).nextBytes(pages);
        for (int i = 0; i < count; i++) {
            PageHeader.PageSetLSN(pages, i * PgConstants.BLCKSZ, firstLsn + i * 0x100L);
        }
        return pages;
    }

    private static int nlink(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:nlink");
    }

    /** What the kernel shows within a few seconds, far less than its 60 s attribute cache. */
    private static void assertSoon(Object expected, Callable<Object> actual, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Object shown = actual.call();
        while (!expected.equals(shown) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            shown = actual.call();
        }
        assertEquals(expected, shown, what);
    }

    private static List<String> list(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
