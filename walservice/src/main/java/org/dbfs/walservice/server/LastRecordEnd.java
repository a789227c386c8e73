package org.dbfs.walservice.server;

import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.walservice.wal.WalNotAvailableException;
import org.dbfs.walservice.wal.WalPositions;

/**
 * Where the last whole WAL record at or below an LSN ends. Durable WAL may stop inside a record
 * (the primary sends what it flushed, page by page); no commit in that record can have been
 * acknowledged, so a standby promoted in the service's place must replay to this end, not to the
 * durable end.
 */
final class LastRecordEnd {
    private LastRecordEnd() {}

    /** @return the end of the last record ending at or below {@code end}, or 0 if none is found in its segment or the one before */
    static long find(WalBytesReader wal, WalPositions positions, long end) {
        int segSize = positions.segmentSize();
        if (segSize == 0 || end == 0) {
            return 0;
        }
        WalSource source = (lsn, dst, off, len) -> {
            if (Long.compareUnsigned(lsn, end) >= 0) {
                return 0;
            }
            int n = (int) Math.min(len, end - lsn);
            try {
                byte[] b = wal.readLocalOrArchive(lsn, lsn + n);
                System.arraycopy(b, 0, dst, off, b.length);
                return b.length;
            } catch (WalNotAvailableException | java.io.IOException e) {
                return 0;
            }
        };
        long segNo = Lsn.segmentNumber(end - 1, segSize);
        for (long s = segNo; s >= 0 && s >= segNo - 1; s--) {
            long start = Math.max(Lsn.segmentStart(s, segSize), Math.max(positions.localStart(), 0));
            WalReader reader = WalReader.findFirstRecord(source, start, segSize, positions.systemIdentifier());
            long last = 0;
            for (WalReadResult r = reader.next(); r instanceof DecodedRecord; r = reader.next()) {
                last = reader.position();
            }
            if (last != 0) {
                return last;
            }
        }
        return 0;
    }
}
