package org.dbfs.walservice.index;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.redo.SmgrTruncate;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.TestRecords;
import org.junit.jupiter.api.Test;

/** What the index lists for records that change a page without a block reference to it. */
class DecodingRecordIndexerTest {
    private static final RelTag HEAP = new RelTag(1663, 5, 16397, 0);

    static DecodedRecord smgrTruncate(long lsn, int blkno, int flags) {
        return TestRecords.smgrTruncate(lsn, HEAP.spcNode(), HEAP.dbNode(), HEAP.relNode(), blkno, flags);
    }

    private static List<PageRef> refs(DecodedRecord rec) {
        List<PageRef> out = new ArrayList<>();
        DecodingRecordIndexer.addPageRefs(rec, out);
        return out;
    }

    @Test
    void aTruncationThroughAVisibilityMapPageIsListedAsAClearOfThatPage() {
        List<PageRef> refs = refs(smgrTruncate(0x5000, 3, SmgrTruncate.TRUNCATE_HEAP | SmgrTruncate.TRUNCATE_VM));
        assertEquals(1, refs.size(), refs.toString());
        assertEquals(new BufferTag(HEAP.withFork(2), 0), refs.getFirst().page());
        assertEquals(RecordFlags.VM_CLEAR, refs.getFirst().flags());
    }

    @Test
    void aTruncationOnAVisibilityMapPageBoundaryOrWithoutTheVmFlagListsNothing() {
        assertEquals(List.of(), refs(smgrTruncate(0x5000, 0, SmgrTruncate.TRUNCATE_HEAP | SmgrTruncate.TRUNCATE_VM)));
        assertEquals(List.of(), refs(smgrTruncate(0x5000, 3, SmgrTruncate.TRUNCATE_HEAP)));
    }
}
