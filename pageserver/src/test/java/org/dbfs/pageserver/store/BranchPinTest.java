package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.time.Duration;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PackMark;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.junit.jupiter.api.Test;

/**
 * A branch's pin on its parent: the cut hides versions written after the parent's WAL passed the
 * branch point, even at the same LSN; pack marks carry the WAL end that gives the cut later; and
 * garbage collection keeps the pinned version past the horizon until the branch is deleted.
 */
class BranchPinTest extends StoreTestBase {
    static final RelTag REL = new RelTag(1663, 5, 16500, 0);
    static final long X = 0x200;

    /** Retention 0 (only what the newest state needs), deleted objects go at once, nothing packs on its own. */
    void openStore() throws IOException {
        openStore(Duration.ZERO);
    }

    void openStore(Duration retention) throws IOException {
        open(StoreOptions.defaults(tmp.resolve("cache")).withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                .withGc(GcOptions.defaults().withRetention(retention).withTiming(Duration.ofDays(1), Duration.ZERO)));
        bucket.put(BucketLayout.KEY, new byte[] {1, 2, 3});
    }

    void put(int block, long lsn, String marker) throws IOException {
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(block).setLsn(lsn).setData(ByteString.copyFrom(PageStoreTest.page(lsn, marker)))));
    }

    String pinned(int block, BranchPin pin) {
        PageStore.StoredBlock p = store.readPinned(REL, block, pin);
        return p == null ? null : VersionIndexTest.marker(p.data());
    }

    String asOf(int block, long lsn) {
        PageStore.StoredBlock p = store.readPage(REL, block, lsn);
        return p == null ? null : VersionIndexTest.marker(p.data());
    }

    /**
     * Block 0 written before the WAL passes X, then rewritten at the same LSN after (a hint bit of a
     * later commit), then at a later LSN; block 1 first written after. Returns the seq where the WAL passed X.
     */
    long writeAcrossX() throws IOException {
        new FileSystemOps(store).makeNode(MakeNodeRequest.newBuilder().setPath("/rel").setType(NodeType.REGULAR)
                .setRel(RelTagMessages.toMessage(REL)).build());
        PrimaryWal.writeUpTo(store, 1, 0x150);
        put(0, 0x100, "b0@100");
        long passed = PrimaryWal.writeUpTo(store, 1, 0x260);
        put(0, 0x100, "b0@100-hint-of-a-commit-past-X");
        put(1, 0x150, "b1@150-written-after");
        put(0, 0x300, "b0@300");
        return passed;
    }

    @Test
    void aRewriteAtTheSameLsnAfterTheCutIsHiddenFromThePinButNotFromAPlainRead() throws IOException {
        openStore();
        long passed = writeAcrossX();
        BranchPin pin = pinOf(store.branches().create("dev", X, "s").getParentCutSeq());
        assertEquals(passed, pin.cutSeq(), "the first journal record whose WAL went past X");
        assertEquals("b0@100", pinned(0, pin));
        assertEquals("b0@100-hint-of-a-commit-past-X", asOf(0, X), "a plain read at X sees the rewrite");
        assertNull(pinned(1, pin), "first written after the cut");
        assertEquals("b1@150-written-after", asOf(1, X));
        assertNull(pinned(2, pin), "never written");

        store.packNow(); // from the segment the same
        assertEquals("b0@100", pinned(0, pin));
        assertEquals("b0@100-hint-of-a-commit-past-X", asOf(0, X));
    }

    @Test
    void packMarksCarryTheWalEndAndGiveTheCutOnceTheWalMarksNoLongerReachBack() throws IOException {
        openStore(Duration.ofHours(1)); // pack marks stay for the window
        writeAcrossX();
        store.packNow();
        PackMark first = store.manifest.getPackMarksList().getLast();
        assertEquals(0x260, first.getWalEndLsn(), "where the WAL ended when the packed records were written");
        PrimaryWal.writeUpTo(store, 1, 0x400);
        put(2, 0x400, "b2@400");
        store.packNow();
        assertEquals(0x400, store.manifest.getPackMarksList().getLast().getWalEndLsn());

        store.walMarks.trimAtOrBelow(0x400); // the WAL service made it durable: the marks below go
        assertEquals(-1, store.walMarks.firstSeqPastIfKnown(1, X), "they no longer tell where the WAL passed X");
        assertEquals(first.getSeq() + 1, BranchCut.at(store, 0x260), "a branch at the first pack's WAL end sees all of it");
        assertEquals(0, BranchCut.at(store, X), "at X neither tells");
        BranchRefusedException refused = assertThrows(BranchRefusedException.class, () -> store.branches().create("dev", X, "s"));
        assertEquals(BranchRefusedException.Reason.NOT_NOW, refused.reason, "refused rather than guessed");
        put(3, 0x400, "b3@400");
        store.packNow();
        assertEquals(0x400, store.manifest.getPackMarksList().getLast().getWalEndLsn(), "from the marks still kept");
    }

    @Test
    void collectionKeepsThePinnedVersionPastTheHorizonUntilTheBranchIsDeleted() throws IOException {
        openStore();
        writeAcrossX();
        BranchPin pin = pinOf(store.branches().create("dev", X, "s").getParentCutSeq());
        store.packNow();
        GarbageCollector.Totals t = store.collectGarbage();
        assertEquals(1, t.versionsDropped(), "of block 0 only the hint rewrite goes; 0/100 stays for the pin, 0/300 is the latest");
        assertEquals(0x300, store.horizonLsn(), "the pin does not hold the horizon");
        assertThrows(BeforeHorizonException.class, () -> store.readPage(REL, 0, X), "plain reads at X are refused");
        assertEquals("b0@100", pinned(0, pin), "the pinned read is not");

        store.close(); // the pin and what it keeps come back with the store
        openStore();
        assertEquals(pin, store.branches().pin("dev"));
        long before = store.collectGarbage().versionsDropped();
        assertEquals("b0@100", pinned(0, pin));

        store.branches().delete("dev");
        assertEquals(before + 1, store.collectGarbage().versionsDropped(), "the next pass drops what the pin kept");
        assertNull(pinned(0, pin));
        assertEquals("b0@300", asOf(0, 0));
    }

    @Test
    void aPinnedVersionStaysWhenTheParentDropsItsRelation() throws IOException {
        openStore();
        writeAcrossX();
        BranchPin pin = pinOf(store.branches().create("dev", X, "s").getParentCutSeq());
        assertEquals(0, new FileSystemOps(store).remove("/rel", false).reply().getErrno()); // DROP TABLE on the parent
        store.packNow();
        store.collectGarbage(); // notices the file gone
        put(3, 0x500, "b3@500");
        store.packNow();
        store.collectGarbage(); // gone since before the horizon: its blocks go, all but what the branch reads
        assertEquals("b0@100", pinned(0, pin));
        assertNull(pinned(1, pin));
    }

    BranchPin pinOf(long cut) {
        return new BranchPin("dev", X, cut, "s");
    }
}
