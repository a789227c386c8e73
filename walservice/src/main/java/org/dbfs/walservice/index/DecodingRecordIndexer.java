package org.dbfs.walservice.index;

import java.util.ArrayList;
import java.util.List;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.redo.SmgrTruncate;
import org.dbfs.pgformat.redo.VisibilityMap;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;

/**
 * The {@link RecordIndexer} built on pgformat's {@link WalReader}: one reader kept across batches, so
 * records spanning pages, batches and segments (and XLOG_SWITCH, whose EndRecPtr is the next
 * segment's start) are read as PostgreSQL reads them, CRC-checked. Every block reference of a
 * record becomes one {@link PageRef}, and so does every visibility-map page the record clears bits of
 * without referencing it ({@link RecordFlags#VM_CLEAR}); a record touching the same page twice
 * yields one entry in the index (same key).
 *
 * <p>{@link WalEnd.Reason#NEED_MORE_BYTES} ends a batch (the reader retries there next time); any
 * other {@link WalEnd} is a {@link CorruptWalException}, since the source only serves durable WAL.
 */
public final class DecodingRecordIndexer implements RecordIndexer {
    private final WalReader reader;

    private DecodingRecordIndexer(WalReader reader) {
        this.reader = reader;
    }

    /** A {@link Factory}. */
    public static DecodingRecordIndexer open(WalSource source, long start, boolean atRecordStart, int segmentSize, long sysid) {
        return new DecodingRecordIndexer(atRecordStart
                ? WalReader.atRecord(source, start, segmentSize, sysid)
                : WalReader.findFirstRecord(source, start, segmentSize, sysid));
    }

    @Override
    public Batch next(int maxRefs) {
        List<PageRef> refs = new ArrayList<>();
        int records = 0;
        while (refs.size() < maxRefs) {
            WalReadResult r = reader.next();
            if (r instanceof WalEnd end) {
                if (end.reason() != WalEnd.Reason.NEED_MORE_BYTES) {
                    throw new CorruptWalException(end);
                }
                return new Batch(refs, reader.position(), records, true);
            }
            addPageRefs((DecodedRecord) r, refs);
            records++;
        }
        return new Batch(refs, reader.position(), records, false);
    }

    /** One {@link PageRef} per block reference of {@code rec}, then one per VM page it clears bits on (heap records, truncation). */
    public static void addPageRefs(DecodedRecord rec, List<PageRef> out) {
        for (int id = 0; id <= rec.maxBlockId(); id++) {
            if (!rec.hasBlockRef(id)) {
                continue;
            }
            out.add(new PageRef(rec.bufferTag(id), rec.lsn(), rec.endLsn(), rec.totalLength(), flags(rec, id)));
        }
        BufferTag lastVm = null;
        for (VisibilityMap.Clear c : VisibilityMap.clearsOf(rec)) {
            BufferTag vm = new BufferTag(c.rel(), (int) c.vmBlock());
            if (!vm.equals(lastVm)) { // an update's old and new heap blocks usually share a VM page
                out.add(new PageRef(vm, rec.lsn(), rec.endLsn(), rec.totalLength(), RecordFlags.VM_CLEAR));
                lastVm = vm;
            }
        }
        // A truncation clears the bits of the truncated heap blocks in the VM page it cuts through
        // (visibilitymap_prepare_truncate); that page keeps its pd_lsn, as with a clear.
        SmgrTruncate t = SmgrTruncate.of(rec);
        if (t != null && t.vm() && t.vmPartialBlock() >= 0) {
            out.add(new PageRef(new BufferTag(t.rel().withFork(ForkNumber.VISIBILITYMAP_FORKNUM.forkNum()),
                    (int) t.vmPartialBlock()), rec.lsn(), rec.endLsn(), rec.totalLength(), RecordFlags.VM_CLEAR));
        }
    }

    /** {@link RecordFlags} of one block reference: an image redo applies, a page redo initialises. */
    public static int flags(DecodedRecord rec, int blockId) {
        int flags = 0;
        if (rec.hasImage(blockId) && rec.imageApply(blockId)) {
            flags |= RecordFlags.HAS_APPLY_IMAGE;
        }
        if (rec.willInit(blockId)) {
            flags |= RecordFlags.WILL_INIT;
        }
        return flags;
    }
}
