package org.dbfs.walservice.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.XLogPageHeader;
import org.dbfs.walservice.archive.SegmentCoverage;
import org.dbfs.walservice.archive.SegmentCoverage.Archived;
import org.dbfs.walservice.archive.SegmentCoverage.Gap;
import org.dbfs.walservice.archive.SegmentCoverage.NotArchived;
import org.dbfs.walservice.wal.DurableFiles;
import org.dbfs.walservice.wal.WalSegments;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code walservice restore --bucket URL %f %p}: PostgreSQL's restore_command over the archive
 * (xlogarchive.c RestoreArchivedFile). PostgreSQL takes exit 0 as "%p now holds %f" and checks
 * only the file's size; any other exit means "not in the archive", and in standby mode it asks
 * again later. So a segment is written whole or not at all (temp file, fsync, rename), and the
 * newest segment, which the archive holds only up to its end, is zero-padded to the segment size:
 * a standby replays up to the zeros and asks for the segment again.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"PostgreSQL's restore_command over the archive:",
            "  restore_command = '/path/bin/walservice restore --bucket URL %%f %%p'",
            "Writes WAL segment %%f to %%p: the whole segment, or, for the newest segment, what is archived of it zero-padded"
                    + " to the segment size (a standby replays up to the zeros and asks again). Exit codes: 0 restored;"
                    + " 1 not in the archive (nothing written; also for segments of timelines the WAL service did not follow);"
                    + " a timeline history file (00000002.history) is written from the service's timelines; 2 wrong passphrase; 3 bucket unreachable; 4 a gap in the segment or a corrupt"
                    + " object; 5 local I/O."})
final class RestoreCommand implements Callable<Integer> {
    /** What PostgreSQL reads as "the archive has no such file" (any non-zero status would do). */
    static final int NOT_IN_ARCHIVE = 1;

    @Mixin
    BucketOptions bucket;

    @Parameters(index = "0", paramLabel = "%f", description = "the file PostgreSQL asks for: a WAL segment name (24 hex digits)")
    String walFileName;

    @Parameters(index = "1", paramLabel = "%p", description = "where to write it; relative paths are from the working directory"
            + " (PostgreSQL runs the command in its data directory)")
    Path destination;

    @Option(names = "--segment-size", defaultValue = "16777216", description = "WAL segment size in bytes (default ${DEFAULT-VALUE})")
    int segmentSize;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        bucket.requireBucket();
        PrintWriter err = spec.commandLine().getErr();
        if (walFileName.matches("[0-9A-F]{8}\\.history")) {
            return restoreHistory(err);
        }
        WalSegments segments = new WalSegments(segmentSize);
        String notArchivable = notArchivable(segments);
        if (notArchivable != null) {
            err.println("walservice restore: " + walFileName + " is not in the archive: " + notArchivable);
            return NOT_IN_ARCHIVE;
        }
        long start = Lsn.segmentStart(segments.segmentNumber(walFileName), segmentSize);
        try (ArchiveAccess archive = new ArchiveAccess(bucket, segmentSize)) {
            int timeline = Lsn.timelineOfFileName(walFileName);
            if (!archive.history.segmentOnTimeline(segments.segmentNumber(walFileName), timeline, segmentSize)) {
                err.println("walservice restore: " + walFileName + " is not in the archive: the WAL service's timelines ("
                        + archive.history.entries() + ") have no such segment on timeline " + timeline);
                return NOT_IN_ARCHIVE;
            }
            return switch (SegmentCoverage.of(archive.catalog, start, start + segmentSize)) {
                case NotArchived n -> {
                    err.println("walservice restore: " + walFileName + " is not in the archive in " + archive.describe() + ": " + n.why());
                    yield NOT_IN_ARCHIVE;
                }
                case Gap g -> {
                    err.println("walservice restore: error: " + walFileName + " cannot be restored from " + archive.describe()
                            + ", the archive is not contiguous: " + g.why());
                    yield ExitCodes.CORRUPT;
                }
                case Archived a -> restore(archive, a, err);
            };
        } catch (RuntimeException | IOException e) {
            return ExitCodes.of("walservice restore " + walFileName, e);
        }
    }

    /** Why %f cannot be in the archive (not a WAL segment name as XLogFileName writes it, or another timeline), or null. */
    private String notArchivable(WalSegments segments) {
        long segNo;
        try {
            segNo = segments.segmentNumber(walFileName);
        } catch (IllegalArgumentException e) {
            return "it is not a WAL segment file name";
        }
        int timeline = Lsn.timelineOfFileName(walFileName);
        if (!segments.fileName(timeline, segNo).equals(walFileName)) {
            return "it is not a WAL segment file name for --segment-size " + segmentSize;
        }
        return null;
    }

    /** A timeline history file, as PostgreSQL's own archive would hold it after a promotion. */
    private int restoreHistory(PrintWriter err) {
        int timeline = Integer.parseInt(walFileName.substring(0, 8), 16);
        try (ArchiveAccess archive = new ArchiveAccess(bucket, segmentSize)) {
            if (timeline <= 1 || !archive.history.has(timeline)) {
                err.println("walservice restore: " + walFileName + " is not in the archive: the WAL service knows timelines "
                        + archive.history.entries().stream().map(e -> Integer.toString(e.timeline())).toList());
                return NOT_IN_ARCHIVE;
            }
            DurableFiles.replace(destination, archive.history.historyFile(timeline).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            err.println("walservice restore: restored " + walFileName + " from " + archive.describe());
            return 0;
        } catch (RuntimeException | IOException e) {
            return ExitCodes.of("walservice restore " + walFileName, e);
        }
    }

    private int restore(ArchiveAccess archive, Archived archived, PrintWriter err) throws IOException {
        byte[] segment = Arrays.copyOf(archive.reader.read(archived.segmentStart(), archived.end()), segmentSize);
        String header = firstPageProblem(segment, archived);
        if (header != null) {
            err.println("walservice restore: error: the archived WAL at " + Lsn.format(archived.segmentStart()) + " does not start segment "
                    + walFileName + " (a wrong --segment-size, or a damaged archive): " + header);
            return ExitCodes.CORRUPT;
        }
        DurableFiles.replace(destination, segment);
        err.println("walservice restore: restored " + walFileName + " from " + archive.describe() + ": "
                + (archived.partial()
                        ? "partial, " + Lsn.format(archived.segmentStart()) + ".." + Lsn.format(archived.end())
                                + " (where the archive ends), zero-padded to " + segmentSize + " bytes"
                        : "the whole segment " + Lsn.format(archived.segmentStart()) + ".." + Lsn.format(archived.end())));
        return 0;
    }

    /**
     * XLogReaderValidatePageHeader's verdict on the segment's first page header: a long header with
     * this segment size and this address, which a segment cut with another size would not have.
     */
    private String firstPageProblem(byte[] segment, Archived archived) {
        if (archived.end() - archived.segmentStart() < XLogPageHeader.SizeOfXLogLongPHD) {
            return null; // not even the header is archived yet; replay reads zeros and asks again
        }
        return XLogPageHeader.validate(segment, 0, archived.segmentStart(), segmentSize, 0);
    }
}
