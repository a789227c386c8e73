package org.dbfs.walservice.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalDumpLine;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalStats;
import org.dbfs.walservice.wal.WalNotAvailableException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code walservice waldump --bucket URL --start LSN --end LSN [--stats=record]}: pg_waldump over
 * the archive. With {@code --stats=record} the output is pg_waldump's table byte for byte; without,
 * one line per record: pg_waldump's prefix (rmgr, lengths, xid, LSN, prev, record type) and block
 * references, without the rmgr-specific description. A record that does not decode ends the dump
 * as in pg_waldump: what was read is printed, then {@code error in WAL record at LSN: ...} on
 * stderr and exit status 1. Exit status 1 also when the archive lacks part of the range (named).
 */
@Command(name = "waldump", mixinStandardHelpOptions = true,
        description = "Decodes archived WAL like pg_waldump: one line per record, or --stats=record.")
final class WalDumpCommand implements Callable<Integer> {
    @Mixin
    BucketOptions bucket;

    @Option(names = {"-s", "--start"}, required = true, paramLabel = "LSN", description = "first record at or after this LSN")
    String start;

    @Option(names = {"-e", "--end"}, required = true, paramLabel = "LSN", description = "read no WAL at or past this LSN")
    String end;

    @Option(names = {"-z", "--stats"}, arity = "0..1", fallbackValue = "record", paramLabel = "record",
            description = "print the per-record-type statistics table instead of the records (only 'record' is supported)")
    String stats;

    @Option(names = "--segment-size", defaultValue = "16777216", description = "WAL segment size in bytes (default ${DEFAULT-VALUE})")
    int segmentSize;

    @Override
    public Integer call() {
        if (stats != null && !stats.equals("record")) {
            System.err.println("walservice waldump: error: --stats supports only 'record', got '" + stats + "'");
            return 1;
        }
        long from = Lsn.parse(start);
        long to = Lsn.parse(end);
        PrintStream out = System.out;
        try (ArchiveAccess archive = new ArchiveAccess(bucket, segmentSize)) {
            WalReader reader;
            try {
                reader = archive.reader(from, to, segmentSize);
            } catch (WalNotAvailableException e) {
                System.err.println("walservice waldump: error: " + e.getMessage());
                return 1;
            }
            WalStats table = new WalStats();
            WalEnd end;
            boolean first = true;
            // On stderr, by WAL covered; not when the records themselves scroll past on the same terminal.
            Progress progress = stats != null || !Progress.isTerminal(1) ? Progress.toStderr("waldump", to - from) : null;
            while (true) {
                WalReadResult r = reader.next();
                if (r instanceof WalEnd e) {
                    end = e;
                    break;
                }
                if (progress != null) {
                    progress.update(reader.position() - from);
                }
                DecodedRecord rec = (DecodedRecord) r;
                if (first && rec.lsn() != from && Lsn.segmentOffset(from, segmentSize) != 0) {
                    // pg_waldump says so when -s is neither a record start (XLogFindNextRecord moved on)
                    // nor a segment start (file mode: a dump from a segment's beginning is no skip)
                    long skipped = rec.lsn() - from;
                    out.printf("first record is after %s, at %s, skipping over %d byte%s%n", Lsn.format(from), Lsn.format(rec.lsn()),
                            skipped, skipped == 1 ? "" : "s");
                }
                first = false;
                if (stats != null) {
                    table.add(rec);
                } else {
                    out.println(WalDumpLine.format(rec));
                }
            }
            if (progress != null) {
                if (end.reason() == WalEnd.Reason.NEED_MORE_BYTES) {
                    progress.update(to - from); // the rest of the range holds no whole record
                }
                progress.finish();
            }
            if (stats != null) {
                out.print(table.formatPerRecord());
            }
            out.flush();
            if (end.reason() != WalEnd.Reason.NEED_MORE_BYTES) {
                System.err.println("walservice waldump: error: error in WAL record at " + Lsn.format(end.lsn()) + ": " + end.message());
                return 1;
            }
            return 0;
        }
    }
}
