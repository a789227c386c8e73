package org.dbfs.pageserver.datadir;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dbfs.pageserver.namespace.NodeTypes;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pgformat.ControlFile;
import org.dbfs.pgformat.ControlFileException;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.protocol.pageserver.v1.DirEntry;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;

/**
 * Where the valid WAL in the root data directory's {@code pg_wal} ends now: the end of the last
 * record that reads back whole, as PostgreSQL's own recovery finds the end of WAL.
 *
 * <p>Why this is a replica's S: WAL is only ever appended, and a file's bytes never run ahead of
 * the WAL written before them (the WAL rule for data pages; SLRU pages flush WAL up to their LSN
 * before they are written; pg_control is written after its checkpoint record). So once a replica
 * has copied a data directory's files, the WAL end found afterwards covers every change those
 * copies can show, exactly as pg_basebackup's backup end does.
 *
 * <p>Which segment: the newest one whose pages are valid for its own address. A segment created
 * ahead of use reads as holes (zeros) and a recycled one has old page addresses, so both end at
 * once and the search moves to the next lower segment; reading continues across segment files, so
 * a record that runs into the next segment is read whole.
 */
public final class WalEnd {
    private static final String CONTROL_FILE = "/global/pg_control";
    private static final String PG_WAL = "/pg_wal";
    private static final int CONTROL_FILE_SIZE = 8192;
    /** How many segments below the newest to try before giving up: only freshly created ones lie above the end. */
    private static final int SEGMENTS_TRIED = 8;

    /** @param lsn EndRecPtr of the last valid record */
    public record Found(long lsn, int timeline, String segment, int segmentSize, long systemIdentifier) {}

    /** The root is not a data directory, or its pg_wal has no valid record. */
    public static final class NotFoundException extends Exception {
        NotFoundException(String message) {
            super(message);
        }
    }

    private record Segment(long segNo, int timeline, long ino, String name) {}

    private WalEnd() {}

    public static Found find(FileSystemOps fs) throws NotFoundException {
        ControlFile control = controlFile(fs);
        int segSize = control.xlogSegSize();
        List<Segment> segments = segments(fs, segSize);
        if (segments.isEmpty()) {
            throw new NotFoundException(PG_WAL + " holds no WAL segment file: this data directory has no WAL to replay");
        }
        Map<Long, Segment> bySegNo = new HashMap<>();
        for (Segment s : segments) {
            bySegNo.merge(s.segNo(), s, (a, b) -> a.timeline() >= b.timeline() ? a : b);
        }
        WalSource source = (lsn, dst, off, len) -> read(fs, bySegNo, segSize, lsn, dst, off, len);
        List<Segment> newestFirst = new ArrayList<>(bySegNo.values());
        newestFirst.sort(Comparator.comparingLong(Segment::segNo).reversed());
        for (Segment s : newestFirst.subList(0, Math.min(SEGMENTS_TRIED, newestFirst.size()))) {
            WalReader reader = WalReader.findFirstRecord(source, Lsn.segmentStart(s.segNo(), segSize), segSize,
                    control.systemIdentifier());
            long last = -1;
            Segment endsIn = s;
            for (WalReadResult r = reader.next(); r instanceof DecodedRecord; r = reader.next()) {
                last = reader.position();
            }
            if (last >= 0) {
                Segment at = bySegNo.get(Lsn.segmentNumber(last - 1, segSize));
                if (at != null) {
                    endsIn = at;
                }
                return new Found(last, endsIn.timeline(), endsIn.name(), segSize, control.systemIdentifier());
            }
        }
        throw new NotFoundException("no valid WAL record in the newest " + SEGMENTS_TRIED + " segments of " + PG_WAL
                + " (newest " + newestFirst.getFirst().name() + "): the WAL there is damaged or not PostgreSQL's");
    }

    private static ControlFile controlFile(FileSystemOps fs) throws NotFoundException {
        NodeReply node = fs.getAttr(CONTROL_FILE);
        if (node.getErrno() != 0) {
            throw new NotFoundException("the root is not a PostgreSQL data directory: " + CONTROL_FILE
                    + " is missing. Run initdb on the read-write mount's root first");
        }
        ReadFileReply read = fs.readFile(node.getAttr().getIno(), 0, CONTROL_FILE_SIZE);
        try {
            return ControlFile.parse(read.getData().toByteArray());
        } catch (ControlFileException e) {
            throw new NotFoundException(CONTROL_FILE + " of the root data directory: " + e.getMessage());
        }
    }

    private static List<Segment> segments(FileSystemOps fs, int segSize) throws NotFoundException {
        ReadDirReply dir = fs.readDir(PG_WAL);
        if (dir.getErrno() != 0) {
            throw new NotFoundException("the root is not a PostgreSQL data directory: " + PG_WAL + " is missing");
        }
        List<Segment> out = new ArrayList<>();
        for (DirEntry e : dir.getEntriesList()) {
            if (e.getAttr().getTypeValue() != NodeTypes.REGULAR || !isSegmentName(e.getName())) {
                continue;
            }
            out.add(new Segment(Lsn.segmentNumberOfFileName(e.getName(), segSize), Lsn.timelineOfFileName(e.getName()),
                    e.getAttr().getIno(), e.getName()));
        }
        return out;
    }

    private static boolean isSegmentName(String name) {
        return name.length() == 24 && name.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    }

    private static int read(FileSystemOps fs, Map<Long, Segment> bySegNo, int segSize, long lsn, byte[] dst, int off,
                            int len) {
        Segment s = bySegNo.get(Lsn.segmentNumber(lsn, segSize));
        if (s == null) {
            return 0;
        }
        int within = Lsn.segmentOffset(lsn, segSize);
        int n = Math.min(len, segSize - within);
        ReadFileReply r = fs.readFile(s.ino(), within, n);
        if (r.getErrno() != 0) {
            return 0; // removed meanwhile: the end is before it
        }
        r.getData().copyTo(dst, off);
        return r.getData().size();
    }
}
