package org.dbfs.pageserver.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.function.BiConsumer;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.pageserver.format.JournalRecord;

/**
 * Replays the records of one journal file in order and decides where they end. Only the last file
 * may end in a torn write: one whose fsync never returned, so it was never acknowledged, with
 * nothing after it but zeros or a reused file's stale bytes. That is cut. A record that cannot be
 * read with an intact one after it is damage, and so is any unreadable record in an older file:
 * cutting there would drop acknowledged writes, so the start is refused and the file left as it is.
 */
final class FileReplay {

    /** Where the file's records end, the highest seq among them (-1 if none), and whether a torn write follows them, to cut. */
    record Outcome(long endOfRecords, long lastSeq, boolean tornWriteAfter) {}

    private final Path path;
    private final FileChannel ch;
    private final JournalFile file;
    private final boolean last;
    private final long size;
    private long lastSeq = -1;

    private FileReplay(Path path, FileChannel ch, JournalFile file, boolean last) throws IOException {
        this.path = path;
        this.ch = ch;
        this.file = file;
        this.last = last;
        this.size = ch.size();
    }

    /** Hands every record of {@code path}, with where it is, to {@code replay}; refuses damage (see the class comment). */
    static Outcome replay(Path path, FileChannel ch, JournalFile file, boolean last,
                          BiConsumer<JournalRecord, Journal.Location> replay) throws IOException {
        FileReplay r = new FileReplay(path, ch, file, last);
        return file.format().checkedHeaders() ? r.checkedHeaders(replay) : r.bareLengths(replay);
    }

    /**
     * Headers with their own check: past the first record that cannot be read (or past the zeros
     * that end the records), the rest of the file is searched for an intact record. One there
     * means the break is damage, whatever it looks like; none means the records really end, or a
     * torn write follows them.
     */
    private Outcome checkedHeaders(BiConsumer<JournalRecord, Journal.Location> replay) throws IOException {
        long pos = 0;
        while (true) {
            int length = file.frameLengthAt(ch, pos, size);
            JournalRecord record = length > 0 ? file.readAt(ch, pos, size) : null;
            if (record == null) {
                boolean end = length == FrameHeader.END || pos == size;
                long intact = IntactRecordSearch.first(file, ch, pos + 1, size);
                if (intact >= 0) {
                    throw refused(pos, end ? "the records end there (zeros where the next header would be)"
                            : describeBreak(length), "an intact record follows at position " + intact);
                }
                if (!end && !last) {
                    throw refused(pos, describeBreak(length), "it is not the last file");
                }
                return new Outcome(pos, lastSeq, !end);
            }
            replayed(record, pos, replay);
            pos += file.headerBytes() + length;
        }
    }

    /**
     * The formats with a bare length in front of each frame, by the rules they were written under:
     * a record that cannot be read in the last file is a torn write unless the frame its length
     * points past is intact. A damaged length itself cannot be told from a torn write there.
     */
    private Outcome bareLengths(BiConsumer<JournalRecord, Journal.Location> replay) throws IOException {
        long pos = 0;
        while (pos < size) {
            int length = file.frameLengthAt(ch, pos, size);
            if (length == FrameHeader.END) {
                break;
            }
            JournalRecord record = file.readAt(ch, pos, size);
            if (record == null) {
                long next = length > 0 ? pos + file.headerBytes() + length : -1;
                if (!last) {
                    throw refused(pos, describeBreak(length), "it is not the last file");
                }
                if (next > 0 && next < size && file.readAt(ch, next, size) != null) {
                    throw refused(pos, describeBreak(length), "an intact record follows at position " + next);
                }
                return new Outcome(pos, lastSeq, true);
            }
            replayed(record, pos, replay);
            pos += file.headerBytes() + length;
        }
        return new Outcome(pos, lastSeq, false);
    }

    private void replayed(JournalRecord record, long pos, BiConsumer<JournalRecord, Journal.Location> replay) {
        replay.accept(record, new Journal.Location(file.name(), pos));
        lastSeq = Math.max(lastSeq, record.getSeq());
    }

    private String describeBreak(int length) {
        return length > 0 ? "its record does not open (the frame fails authentication or runs past the end of the file)"
                : "its frame header is damaged";
    }

    private IntegrityException refused(long pos, String what, String why) {
        Path dir = path.toAbsolutePath().getParent();
        return new IntegrityException("journal file " + path + " is corrupt at position " + pos + ": " + what + ", and "
                + why + ", so this is not a torn last write. Cutting the file there could drop acknowledged writes, so"
                + " the page server will not start on a damaged journal, and has changed nothing. Keep a copy of " + dir
                + " for inspection; then restore the file from a copy"
                + (last ? ", or give up every record from position " + pos + " on: truncate -s " + pos + " " + path
                        + " (after a power failure, records after the damage may be writes that were never acknowledged"
                        + " and reached the disk out of order)" : "")
                + ", or give up every write not yet packed into the bucket: move " + dir
                + " aside and start with --accept-journal-loss.");
    }
}
