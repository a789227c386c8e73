package org.dbfs.walservice.wal;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import org.dbfs.pgformat.wal.Lsn;

/**
 * The durable position file ({@value #NAME} in the data directory): written only after the WAL up
 * to {@code flushed_lsn} was fsynced, and replaced atomically (temp file, fsync, rename, fsync of
 * the directory: {@link DurableFiles#replace}), so after a crash it holds either the old or the new
 * position, never a torn one. It carries no checksum on purpose: the rename makes it all or
 * nothing, and it is small text an operator can read.
 *
 * <pre>
 * system_identifier=7301234567890123456
 * timeline=1
 * wal_segment_size=16777216
 * start_lsn=0/1000000
 * flushed_lsn=0/3A5C2E8
 * </pre>
 */
public final class PositionFile {
    public static final String NAME = "walservice.position";

    private final Path file;

    public PositionFile(Path dataDir) {
        this.file = dataDir.resolve(NAME);
    }

    public Optional<DurablePosition> load() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        try {
            return Optional.of(new DurablePosition(
                    Long.parseUnsignedLong(required(p, "system_identifier")),
                    Integer.parseInt(required(p, "timeline")),
                    Integer.parseInt(required(p, "wal_segment_size")),
                    Lsn.parse(required(p, "start_lsn")),
                    Lsn.parse(required(p, "flushed_lsn"))));
        } catch (IllegalArgumentException e) {
            throw new IOException("position file " + file + " is damaged: " + e.getMessage(), e);
        }
    }

    public void store(DurablePosition pos) throws IOException {
        String text = "# walservice: the WAL up to flushed_lsn is fsynced in wal/; written after each fsync\n"
                + "system_identifier=" + Long.toUnsignedString(pos.systemIdentifier()) + "\n"
                + "timeline=" + pos.timeline() + "\n"
                + "wal_segment_size=" + pos.segmentSize() + "\n"
                + "start_lsn=" + Lsn.format(pos.startLsn()) + "\n"
                + "flushed_lsn=" + Lsn.format(pos.flushedLsn()) + "\n";
        DurableFiles.replace(file, text.getBytes(StandardCharsets.UTF_8));
    }

    private String required(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException("missing " + key);
        }
        return v.trim();
    }
}
