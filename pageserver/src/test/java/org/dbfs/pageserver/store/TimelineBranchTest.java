package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.dbfs.pageserver.format.BlockRangeDrop;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.namespace.Errno;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.BranchEntry;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.junit.jupiter.api.Test;

/**
 * A promotion's branch: the new timeline sees the old one's page versions up to the branch LSN and
 * its own after it; versions the old primary wrote beyond the branch LSN vanish; the namespace is
 * the one the branch named, with staged file data; all of it survives a restart, before and after
 * packing.
 */
class TimelineBranchTest extends StoreTestBase {
    static final RelTag REL = new RelTag(1663, 5, 16400, 0);
    static final long X = 200;

    FileSystemOps fs;

    void openStore() throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        fs = new FileSystemOps(store);
    }

    void restart(boolean pack) throws IOException {
        if (pack) {
            store.packNow();
        }
        store.close();
        openStore();
    }

    void put(int block, long lsn, String marker) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(block).setLsn(lsn).setData(ByteString.copyFrom(PageStoreTest.page(lsn, marker)))));
    }

    String latest(int block) {
        var p = store.readPage(REL, block, 0);
        return p == null ? null : VersionIndexTest.marker(p.data());
    }

    String asOf(int block, long lsn) {
        var p = store.readPage(REL, block, lsn);
        return p == null ? null : VersionIndexTest.marker(p.data());
    }

    long make(String path, NodeType type, MakeNodeRequest.Builder more) throws IOException {
        var reply = fs.makeNode(more.setPath(path).setType(type).setMode(0700).build()).reply();
        assertEquals(0, reply.getErrno(), path);
        return reply.getAttr().getIno();
    }

    void write(long ino, String text) throws IOException {
        assertEquals(0, fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0)
                .setData(ByteString.copyFromUtf8(text)).build()).reply().getErrno());
    }

    String readPath(String path) {
        var attr = fs.getAttr(path);
        if (attr.getErrno() != 0) {
            return "errno " + attr.getErrno();
        }
        return fs.readFile(attr.getAttr().getIno(), 0, (int) attr.getAttr().getSize()).getData().toString(StandardCharsets.UTF_8);
    }

    static BranchEntry.Builder entry(String path, NodeType type) {
        return BranchEntry.newBuilder().setPath(path).setType(type).setMode(0700).setUid(70).setGid(71).setMtimeNs(5);
    }

    @Test
    void theNewTimelineSeesTheOldOneUpToTheBranchLsnAndItsOwnAfter() throws IOException {
        openStore();
        make("/base", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        make("/base/5", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        make("/base/5/16400", NodeType.REGULAR, MakeNodeRequest.newBuilder().setRel(RelTagMessages.toMessage(REL)));
        write(make("/pg_wal", NodeType.REGULAR, MakeNodeRequest.newBuilder()), "old timeline's file");
        put(0, 100, "b0@100");
        put(1, 100, "b1@100");
        put(1, 300, "b1@300-unacknowledged");
        put(2, 300, "b2@300-unacknowledged");
        put(3, 150, "b3@150");
        store.commit(JournalRecord.newBuilder().addRelDrops(BlockRangeDrop.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setFromBlock(3).setToBlock(4))); // the old primary truncated block 3 away (after X)
        make("/staging", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        long staged = make("/staging/1", NodeType.REGULAR, MakeNodeRequest.newBuilder());
        write(staged, "the replica's pg_control");

        long startSeq = TimelineBranch.apply(store, BranchRequest.newBuilder().setTimeline(2).setBranchLsn(X)
                .addEntries(entry("/", NodeType.DIRECTORY))
                .addEntries(entry("/global", NodeType.DIRECTORY))
                .addEntries(entry("/global/pg_control", NodeType.REGULAR).setStagedIno(staged))
                .addEntries(entry("/base/5/16400", NodeType.REGULAR).setRel(RelTagMessages.toMessage(REL)).setSize(4 * 8192))
                .addEntries(entry("/base/5", NodeType.DIRECTORY))
                .addEntries(entry("/base", NodeType.DIRECTORY))
                .addEntries(entry("/empty", NodeType.REGULAR))
                .build());
        assertEquals(store.lastSeq(), startSeq);
        assertTimelineTwo();
        assertEquals(startSeq, store.timelines().currentStartSeq());

        put(1, 250, "b1@250-timeline2");
        put(0, 100, "b0@100-hint-bits-timeline2");
        assertEquals("b1@250-timeline2", latest(1));
        assertEquals("b1@100", asOf(1, 220), "below its own write the new timeline reads the old one's, up to X");
        assertEquals("b0@100-hint-bits-timeline2", latest(0), "a rewrite at the same LSN on the new timeline wins");
        store.commit(JournalRecord.newBuilder().addRelDrops(BlockRangeDrop.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setFromBlock(3).setToBlock(4)));
        assertNull(latest(3), "the new timeline's own truncation drops a block whose last version was the old timeline's tombstone");

        restart(false);
        assertEquals(2, store.timelines().current().timeline(), "the branch record replays from the journal");
        assertEquals("b1@250-timeline2", latest(1));
        assertNull(latest(2));
        restart(true);
        assertEquals(2, store.timelines().current().timeline(), "and is in the namespace snapshot once packed");
        assertEquals(X, store.timelines().current().branchLsn());
        assertEquals("b1@100", asOf(1, 220));
        assertNull(latest(2));
        assertEquals("the replica's pg_control", readPath("/global/pg_control"));

        assertThrows(TimelineBranch.RefusedException.class, () -> TimelineBranch.apply(store,
                BranchRequest.newBuilder().setTimeline(1).setBranchLsn(X).build()), "an older timeline");
        TimelineBranch.RefusedException bad = assertThrows(TimelineBranch.RefusedException.class, () -> TimelineBranch.apply(store,
                BranchRequest.newBuilder().setTimeline(3).setBranchLsn(400).addEntries(entry("/a/b", NodeType.DIRECTORY)).build()));
        assertEquals(true, bad.badRequest);
        assertEquals(2, store.timelines().current().timeline(), "a refused branch changed nothing");
    }

    private void assertTimelineTwo() {
        assertEquals(2, store.timelines().current().timeline());
        assertEquals("b0@100", latest(0));
        assertEquals("b1@100", latest(1), "the old primary's version beyond X is not seen");
        assertNull(latest(2), "a block only the old primary wrote beyond X does not exist");
        assertEquals("b3@150", latest(3), "the old primary's truncation beyond X is not seen either");
        assertEquals("b1@100", asOf(1, 250));
        assertEquals("the replica's pg_control", readPath("/global/pg_control"));
        assertEquals("", readPath("/empty"));
        assertEquals("errno " + Errno.ENOENT, readPath("/pg_wal"), "the old namespace is gone");
        assertEquals(Errno.ENOENT, fs.getAttr("/staging").getErrno());
        assertEquals(4 * 8192, fs.getAttr("/base/5/16400").getAttr().getSize());
        assertEquals(List.of("base", "empty", "global"), fs.readDir("/").getEntriesList().stream().map(e -> e.getName()).toList());
        assertEquals(2 + 2, fs.getAttr("/").getAttr().getNlink(), "base and global");
    }

    void writeAt(long ino, long offset, int nonZeroBytes) throws IOException {
        byte[] data = new byte[nonZeroBytes];
        java.util.Arrays.fill(data, (byte) 0x5A);
        assertEquals(0, fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(offset)
                .setData(ByteString.copyFrom(data)).build()).reply().getErrno());
    }

    @Test
    void versionsTheOldTimelineWroteOnceItsWalPassedTheBranchAreNotTheNewOnes() throws IOException {
        openStore();
        make("/base", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        make("/base/5", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        make("/base/5/16400", NodeType.REGULAR, MakeNodeRequest.newBuilder().setRel(RelTagMessages.toMessage(REL)));
        make("/pg_wal", NodeType.DIRECTORY, MakeNodeRequest.newBuilder());
        long segment = make("/pg_wal/000000010000000000000000", NodeType.REGULAR, MakeNodeRequest.newBuilder());
        long otherTimeline = make("/pg_wal/000000070000000000000000", NodeType.REGULAR, MakeNodeRequest.newBuilder());
        put(0, 100, "b0@100");
        writeAt(segment, 0, 150); // WAL up to 150: not past X = 200
        writeAt(otherTimeline, 0, 8000); // another timeline's WAL does not count
        put(1, 100, "b1@100");
        writeAt(segment, 0, 260); // WAL past X: a commit the new timeline will not have
        put(0, 100, "b0@100-hint-bits-of-a-commit-past-X");
        put(2, 150, "b2@150-first-written-after");
        writeAt(segment, 8192, 10); // more WAL past X
        put(3, 120, "b3@120-later-still");
        restart(true); // the marks of packed records come back from the manifest

        TimelineBranch.apply(store, BranchRequest.newBuilder().setTimeline(2).setBranchLsn(X)
                .addEntries(entry("/", NodeType.DIRECTORY))
                .addEntries(entry("/base", NodeType.DIRECTORY))
                .addEntries(entry("/base/5", NodeType.DIRECTORY))
                .addEntries(entry("/base/5/16400", NodeType.REGULAR).setRel(RelTagMessages.toMessage(REL)).setSize(4 * 8192))
                .build());
        assertCutAtTheFirstWalPastX();
        restart(false);
        assertCutAtTheFirstWalPastX();
        restart(true);
        assertCutAtTheFirstWalPastX();
        put(2, 260, "b2@260-timeline2");
        assertEquals("b2@260-timeline2", latest(2), "the new timeline's own versions are its own");
    }

    private void assertCutAtTheFirstWalPastX() {
        assertEquals("b0@100", latest(0), "a rewrite at the same LSN after the WAL passed X is not the new timeline's");
        assertEquals("b1@100", latest(1));
        assertNull(latest(2), "written first after the WAL passed X");
        assertNull(latest(3));
        assertEquals("b0@100", asOf(0, X));
    }
}
