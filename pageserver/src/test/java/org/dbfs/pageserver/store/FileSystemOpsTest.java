package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.namespace.Errno;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSystemOpsTest {
    @TempDir
    Path tmp;
    ObjectStore bucket;
    PageStore store;
    FileSystemOps fs;

    @BeforeEach
    void open() throws IOException {
        bucket = ObjectStores.open(tmp.resolve("bucket").toString(), null);
        openStore();
    }

    private void openStore() throws IOException {
        store = PageStore.open(bucket, FrameCodec.forKey(new byte[32]), StoreOptions.defaults(tmp.resolve("cache")));
        fs = new FileSystemOps(store);
    }

    @AfterEach
    void close() throws IOException {
        store.close();
        bucket.close();
    }

    private void restart(boolean pack) throws IOException {
        if (pack) {
            store.packNow();
        }
        store.close();
        openStore();
    }

    NodeAttr make(String path, NodeType type, boolean exclusive) throws IOException {
        var reply = fs.makeNode(MakeNodeRequest.newBuilder().setPath(path).setType(type).setMode(0640)
                .setUid(70).setGid(71).setExclusive(exclusive).build()).reply();
        assertEquals(0, reply.getErrno(), "make " + path);
        return reply.getAttr();
    }

    int makeErrno(String path, NodeType type, boolean exclusive) throws IOException {
        return fs.makeNode(MakeNodeRequest.newBuilder().setPath(path).setType(type).setExclusive(exclusive).build())
                .reply().getErrno();
    }

    void write(long ino, long offset, byte[] data) throws IOException {
        assertEquals(0, fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(offset)
                .setData(ByteString.copyFrom(data)).build()).reply().getErrno());
    }

    byte[] read(long ino, long offset, int length) {
        var r = fs.readFile(ino, offset, length);
        assertEquals(0, r.getErrno());
        return r.getData().toByteArray();
    }

    @Test
    void treeAttributesAndDataSurviveRestartFromJournalAndFromBucket() throws IOException {
        make("/base", NodeType.DIRECTORY, true);
        NodeAttr f = make("/base/PG_VERSION", NodeType.REGULAR, true);
        write(f.getIno(), 0, "15\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, fs.makeNode(MakeNodeRequest.newBuilder().setPath("/link").setType(NodeType.SYMLINK)
                .setSymlinkTarget("base/PG_VERSION").build()).reply().getErrno());
        for (boolean pack : new boolean[] {false, true}) {
            restart(pack);
            NodeAttr a = fs.getAttr("/base/PG_VERSION").getAttr();
            assertEquals(3, a.getSize());
            assertEquals(0640, a.getMode());
            assertEquals(70, a.getUid());
            assertEquals(71, a.getGid());
            assertEquals("15\n", new String(read(a.getIno(), 0, 100), StandardCharsets.UTF_8));
            assertEquals("base/PG_VERSION", fs.readLink("/link").getTarget());
            assertEquals(2, fs.readDir("/").getEntriesCount());
            assertEquals(3, fs.getAttr("/").getAttr().getNlink(), "root: ., .. and base/..");
        }
    }

    @Test
    void exclusiveCreateFailsOnExistingAndPlainCreateOpensIt() throws IOException {
        NodeAttr f = make("/f", NodeType.REGULAR, true);
        assertEquals(Errno.EEXIST, makeErrno("/f", NodeType.REGULAR, true));
        assertEquals(f.getIno(), make("/f", NodeType.REGULAR, false).getIno());
        assertEquals(Errno.ENOENT, makeErrno("/missing/f", NodeType.REGULAR, true));
        assertEquals(Errno.ENOTDIR, makeErrno("/f/g", NodeType.REGULAR, true));
        assertEquals(Errno.EEXIST, makeErrno("/f", NodeType.DIRECTORY, true));
    }

    @Test
    void renameReplacesTargetAtomicallyAndRefusesNonEmptyDirectories() throws IOException {
        NodeAttr a = make("/a", NodeType.REGULAR, true);
        NodeAttr b = make("/b", NodeType.REGULAR, true);
        write(a.getIno(), 0, "new".getBytes(StandardCharsets.UTF_8));
        write(b.getIno(), 0, "old".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, fs.rename("/a", "/b", false).reply().getErrno());
        assertEquals(Errno.ENOENT, fs.getAttr("/a").getErrno());
        assertEquals(a.getIno(), fs.getAttr("/b").getAttr().getIno());
        assertEquals("old", new String(read(b.getIno(), 0, 10), StandardCharsets.UTF_8), "replaced file still readable by inode");
        make("/d", NodeType.DIRECTORY, true);
        make("/e", NodeType.DIRECTORY, true);
        make("/e/x", NodeType.REGULAR, true);
        assertEquals(Errno.ENOTEMPTY, fs.rename("/d", "/e", false).reply().getErrno());
        assertEquals(Errno.EINVAL, fs.rename("/e", "/e/sub", false).reply().getErrno());
        assertEquals(Errno.EEXIST, fs.rename("/b", "/e/x", true).reply().getErrno());
        assertEquals(0, fs.rename("/e", "/d", false).reply().getErrno());
        assertEquals(0, fs.getAttr("/d/x").getErrno());
        restart(true);
        assertEquals(a.getIno(), fs.getAttr("/b").getAttr().getIno());
        assertEquals(0, fs.getAttr("/d/x").getErrno());
        assertEquals(Errno.ENOENT, fs.getAttr("/e").getErrno());
    }

    @Test
    void unlinkedFileStaysReadableByInodeAndRmdirNeedsEmptyDirectory() throws IOException {
        make("/dir", NodeType.DIRECTORY, true);
        NodeAttr f = make("/dir/f", NodeType.REGULAR, true);
        write(f.getIno(), 0, "still here".getBytes(StandardCharsets.UTF_8));
        assertEquals(Errno.ENOTEMPTY, fs.remove("/dir", true).reply().getErrno());
        assertEquals(Errno.EISDIR, fs.remove("/dir", false).reply().getErrno());
        assertEquals(0, fs.remove("/dir/f", false).reply().getErrno());
        assertEquals("still here", new String(read(f.getIno(), 0, 100), StandardCharsets.UTF_8));
        assertEquals(0, fs.getAttr("", f.getIno()).getAttr().getNlink(), "reachable by inode, with no links");
        assertEquals(10, fs.getAttr("", f.getIno()).getAttr().getSize());
        assertEquals(0, fs.remove("/dir", true).reply().getErrno());
        assertEquals(Errno.ENOENT, fs.getAttr("/dir").getErrno());
    }

    @Test
    void sparseWritesReadHolesAsZerosAndTruncateShrinksAndGrows() throws IOException {
        NodeAttr f = make("/sparse", NodeType.REGULAR, true);
        write(f.getIno(), 100_000, "end".getBytes(StandardCharsets.UTF_8));
        assertEquals(100_003, fs.getAttr("/sparse").getAttr().getSize());
        assertArrayEquals(new byte[50_000], read(f.getIno(), 10, 50_000));
        write(f.getIno(), 5, "abcdefghij".getBytes(StandardCharsets.UTF_8));
        assertEquals(0, fs.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(8).build()).reply().getErrno());
        assertEquals(0, fs.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(20_000).build()).reply().getErrno());
        byte[] expect = new byte[20_000];
        System.arraycopy("abc".getBytes(StandardCharsets.UTF_8), 0, expect, 5, 3);
        restart(true);
        assertArrayEquals(expect, read(f.getIno(), 0, 30_000));
    }

    @Test
    void oneWriteCarriesScatteredRangesAtomically() throws IOException {
        NodeAttr f = make("/scattered", NodeType.REGULAR, true);
        byte[] a = new byte[8192];
        byte[] b = new byte[16384];
        Arrays.fill(a, (byte) 'a');
        Arrays.fill(b, (byte) 'b');
        var reply = fs.writeFile(WriteFileRequest.newBuilder().setIno(f.getIno())
                .addExtents(org.dbfs.protocol.pageserver.v1.WriteExtent.newBuilder().setOffset(8192).setData(ByteString.copyFrom(a)))
                .addExtents(org.dbfs.protocol.pageserver.v1.WriteExtent.newBuilder().setOffset(5 * 8192).setData(ByteString.copyFrom(b)))
                .build());
        assertEquals(0, reply.reply().getErrno());
        assertTrue(reply.token() > 0, "one journal record to wait on");
        assertEquals(7 * 8192, fs.getAttr("/scattered").getAttr().getSize());
        restart(true);
        byte[] all = read(f.getIno(), 0, 7 * 8192);
        assertArrayEquals(a, Arrays.copyOfRange(all, 8192, 16384));
        assertArrayEquals(new byte[3 * 8192], Arrays.copyOfRange(all, 16384, 5 * 8192));
        assertArrayEquals(b, Arrays.copyOfRange(all, 5 * 8192, 7 * 8192));
    }

    @Test
    void relationFilesStoreTheirDataAsVersionedPages() throws IOException {
        RelTag rel = RelTag.newBuilder().setSpcNode(1663).setDbNode(5).setRelNode(16384).build();
        var reply = fs.makeNode(MakeNodeRequest.newBuilder().setPath("/16384.1").setType(NodeType.REGULAR)
                .setRel(rel).setRelSegno(1).setExclusive(true).build()).reply();
        long ino = reply.getAttr().getIno();
        byte[] pages = new byte[16384];
        Arrays.fill(pages, (byte) 1);
        write(ino, 8192, Arrays.copyOf(pages, 8192)); // pd_lsn from the bytes: 0x0101010101010101
        assertEquals(0, fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0)
                .setData(ByteString.copyFrom(pages)).addPageLsns(40).addPageLsns(41).build()).reply().getErrno());
        var tag = new org.dbfs.pgformat.RelTag(1663, 5, 16384, 0);
        assertEquals(41, store.readPage(tag, 131072 + 1, 0).lsn());
        assertEquals(41, store.readPage(tag, 131072 + 1, 50).lsn());
        assertEquals(0x0101010101010101L, store.readPage(tag, 131072 + 1, 0x0101010101010101L).lsn());
        assertEquals(40, store.readPage(tag, 131072, 0).lsn());
        // Recreating the file (a reused relfilenode) starts it empty.
        assertEquals(0, fs.remove("/16384.1", false).reply().getErrno());
        long again = fs.makeNode(MakeNodeRequest.newBuilder().setPath("/16384.1").setType(NodeType.REGULAR)
                .setRel(rel).setRelSegno(1).setExclusive(true).build()).reply().getAttr().getIno();
        assertEquals(0, fs.getAttr("/16384.1").getAttr().getSize());
        assertTrue(store.readPage(tag, 131072, 0) == null);
        assertArrayEquals(new byte[0], read(again, 0, 8192));
    }
}
