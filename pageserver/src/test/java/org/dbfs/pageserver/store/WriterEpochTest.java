package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pgformat.RelTag;
import org.junit.jupiter.api.Test;

/**
 * The page store refuses every mutation from a writer whose epoch the cluster moved past, checked
 * under the commit lock that every mutation takes, so that once {@link PageStore#raiseEpoch}
 * returns no mutation of an older epoch is applied.
 */
class WriterEpochTest extends StoreTestBase {
    static final RelTag REL = new RelTag(1663, 5, 16400, 0);

    void writeAs(long epoch, int block) throws Exception {
        ScopedValue.where(WriterEpoch.CALLER, epoch).call(() -> store.commit(JournalRecord.newBuilder()
                .addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL)).setBlockNum(block)
                        .setLsn(100 + block).setData(ByteString.copyFrom(PageStoreTest.page(100 + block, "e" + epoch))))));
    }

    @Test
    void olderEpochsAreRefusedOnceTheEpochMovedAndNewerOnesAndTheServersOwnWorkAreNot() throws Exception {
        open(StoreOptions.defaults(tmp.resolve("cache")));
        writeAs(0, 0); // no lease yet: a client without an epoch may write
        store.raiseEpoch(1);
        assertThrows(StaleEpochException.class, () -> writeAs(0, 1), "an undeclared writer once a lease exists");
        writeAs(1, 1);
        store.raiseEpoch(2);
        StaleEpochException e = assertThrows(StaleEpochException.class, () -> writeAs(1, 2));
        assertTrue(e.getMessage().contains("epoch 1 is older than the cluster's epoch 2"), e.getMessage());
        assertNull(store.readPage(REL, 2, 0), "the refused write left nothing");
        writeAs(2, 2);
        writeAs(3, 3); // a newer epoch than known is not stale (the page server learns of it by AcquireWriter/Fence)
        store.raiseEpoch(1);
        assertEquals(2, store.epoch(), "the epoch never moves back");
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setBlockNum(4).setLsn(104).setData(ByteString.copyFrom(PageStoreTest.page(104, "server")))));
        assertEquals(2, store.staleEpochRefusals());
        assertThrows(StaleEpochException.class, () -> store.checkEpoch(1), "Sync's check");
    }
}
