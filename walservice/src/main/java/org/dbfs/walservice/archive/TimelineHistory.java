package org.dbfs.walservice.archive;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The timelines the WAL service's one stream of WAL went through, oldest first: timeline 1 from
 * the start, each later one from its switch point (a promotion's end of recovery). WAL below a
 * switch point is its parent's; a WAL segment belongs to the newest timeline that started at or
 * before its last byte, as PostgreSQL itself picks the segment file to read (the segment a switch
 * happens in is the new timeline's, holding the old one's WAL up to the switch).
 *
 * <p>Kept in the bucket (object {@value #OBJECT}, sealed) beside the archive, so that
 * {@code walservice restore} serves the same timelines as the service.
 */
public record TimelineHistory(List<Entry> entries) {
    public static final String OBJECT = BucketLayout.WAL_ARCHIVE + "timelines";
    public static final TimelineHistory FIRST = new TimelineHistory(List.of(new Entry(1, 0)));

    /** @param startLsn the switch point from the parent (0 for timeline 1) */
    public record Entry(int timeline, long startLsn) {}

    public TimelineHistory {
        entries = List.copyOf(entries);
    }

    public Entry current() {
        return entries.getLast();
    }

    public boolean has(int timeline) {
        return entries.stream().anyMatch(e -> e.timeline() == timeline);
    }

    public TimelineHistory followedBy(int timeline, long startLsn) {
        if (timeline <= current().timeline()) {
            throw new IllegalArgumentException("timeline " + timeline + " does not follow " + current().timeline());
        }
        List<Entry> next = new ArrayList<>(entries);
        next.add(new Entry(timeline, startLsn));
        return new TimelineHistory(next);
    }

    /** The timeline whose archive holds segment {@code segNo}. */
    public int timelineOfSegment(long segNo, int segSize) {
        int t = entries.getFirst().timeline();
        for (Entry e : entries) {
            if (Lsn.segmentNumber(e.startLsn(), segSize) <= segNo) {
                t = e.timeline();
            }
        }
        return t;
    }

    /** Whether PostgreSQL may ask for segment {@code segNo} under {@code timeline}: it overlaps the timeline's WAL. */
    public boolean segmentOnTimeline(long segNo, int timeline, int segSize) {
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).timeline() == timeline) {
                long first = Lsn.segmentNumber(entries.get(i).startLsn(), segSize);
                boolean last = i == entries.size() - 1;
                long end = last ? Long.MAX_VALUE : Lsn.segmentNumber(entries.get(i + 1).startLsn(), segSize);
                return segNo >= first && segNo <= end;
            }
        }
        return false;
    }

    /** PostgreSQL's {@code NNNNNNNN.history} for {@code timeline}: one line per ancestor with its switch point. */
    public String historyFile(int timeline) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < entries.size() && entries.get(i - 1).timeline() < timeline; i++) {
            if (entries.get(i).timeline() > timeline) {
                break;
            }
            b.append(entries.get(i - 1).timeline()).append('\t').append(Lsn.format(entries.get(i).startLsn()))
                    .append("\tno recovery target specified\n");
        }
        return b.toString();
    }

    String encode() {
        StringBuilder b = new StringBuilder();
        for (Entry e : entries) {
            b.append("timeline=").append(e.timeline()).append(" start=").append(Lsn.format(e.startLsn())).append('\n');
        }
        return b.toString();
    }

    static TimelineHistory decode(String text) {
        List<Entry> entries = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.strip().split(" ");
            entries.add(new Entry(Integer.parseInt(f[0].substring("timeline=".length())), Lsn.parse(f[1].substring("start=".length()))));
        }
        return entries.isEmpty() ? FIRST : new TimelineHistory(entries);
    }

    /** The history in the bucket; timeline 1 alone if there is none (no promotion yet). */
    public static TimelineHistory load(ObjectStore store, FrameCodec codec) {
        return store.getVersioned(OBJECT).map(v -> {
            try {
                return decode(new String(codec.open(v.data(), FrameCodec.associatedData(OBJECT, 0), OBJECT + " in " + store.describe()),
                        StandardCharsets.UTF_8));
            } catch (RuntimeException e) {
                if (e instanceof IntegrityException) {
                    throw e;
                }
                throw new IntegrityException("the timeline history " + OBJECT + " in " + store.describe() + " does not parse: "
                        + e.getMessage(), e);
            }
        }).orElse(FIRST);
    }

    public void store(ObjectStore store, FrameCodec codec) {
        store.put(OBJECT, codec.seal(encode().getBytes(StandardCharsets.UTF_8), FrameCodec.associatedData(OBJECT, 0)));
    }
}
