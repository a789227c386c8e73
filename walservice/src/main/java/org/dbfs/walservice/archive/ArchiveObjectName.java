package org.dbfs.walservice.archive;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.pgformat.wal.Lsn;

/**
 * Names of WAL archive objects: {@code wal/<TLI, 8 hex>/<start LSN, 16 hex>-<end LSN, 16 hex>},
 * holding the WAL bytes [start, end) of that timeline. Fixed-width upper-case hex makes the
 * bucket's sorted listing the LSN order.
 */
public record ArchiveObjectName(int timeline, long startLsn, long endLsn) implements Comparable<ArchiveObjectName> {
    public static final String ROOT = org.dbfs.bucket.BucketLayout.WAL_ARCHIVE;
    private static final Pattern NAME = Pattern.compile("wal/([0-9A-F]{8})/([0-9A-F]{16})-([0-9A-F]{16})");

    public ArchiveObjectName {
        if (Long.compareUnsigned(endLsn, startLsn) <= 0) {
            throw new IllegalArgumentException("archive object must hold at least one byte: start="
                    + Lsn.format(startLsn) + " end=" + Lsn.format(endLsn));
        }
    }

    public static String prefix(int timeline) {
        return ROOT + String.format("%08X", timeline) + "/";
    }

    public String key() {
        return prefix(timeline) + Lsn.hex16(startLsn) + "-" + Lsn.hex16(endLsn);
    }

    public long length() {
        return endLsn - startLsn;
    }

    /** The name of an archive object, or empty for any other key (temp files, other tools' objects). */
    public static Optional<ArchiveObjectName> parse(String key) {
        Matcher m = NAME.matcher(key);
        if (!m.matches()) {
            return Optional.empty();
        }
        long start = Long.parseUnsignedLong(m.group(2), 16);
        long end = Long.parseUnsignedLong(m.group(3), 16);
        if (Long.compareUnsigned(end, start) <= 0) {
            return Optional.empty();
        }
        return Optional.of(new ArchiveObjectName(Integer.parseUnsignedInt(m.group(1), 16), start, end));
    }

    @Override
    public int compareTo(ArchiveObjectName o) {
        int c = Integer.compareUnsigned(timeline, o.timeline);
        return c != 0 ? c : Long.compareUnsigned(startLsn, o.startLsn);
    }

    @Override
    public String toString() {
        return key();
    }
}
