package org.dbfs.pgformat.wal;

/** What {@link WalReader#next()} returns: the next record, or why there is none (yet). */
public sealed interface WalReadResult permits DecodedRecord, WalEnd {
}
