package org.dbfs.pageserver.getpage;

import java.util.List;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.DecodedRecord;

/** What GetPage@LSN needs from the WAL: the records that touch a page, and their decoded contents. */
public interface PageWal {

    /**
     * The records touching the page whose start is in [{@code fromLsn}, {@code toLsn}), in LSN order,
     * once the index is complete below {@code toLsn} (waiting up to {@code waitMs} for that).
     *
     * @param fromLastBase start instead at the newest base record (image or init) below
     *                     {@code toLsn} when it is later than {@code fromLsn}
     * @throws WalNotIndexedException when the index does not reach {@code toLsn} in time
     */
    List<WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn, boolean fromLastBase, long waitMs);

    /** The records, decoded (each its own copy), in the order given. */
    List<DecodedRecord> read(List<WalRecordRef> records);
}
