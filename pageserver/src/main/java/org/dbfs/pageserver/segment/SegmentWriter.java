package org.dbfs.pageserver.segment;

import java.io.ByteArrayOutputStream;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.pageserver.format.SegmentEntry;
import org.dbfs.pageserver.format.SegmentFooter;

/**
 * Builds one segment object in memory. Entries must be added in key order (the packer sorts).
 * Not thread-safe.
 */
public final class SegmentWriter {
    private final String name;
    private final FrameCodec codec;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
    private final SegmentFooter.Builder footer = SegmentFooter.newBuilder();

    public SegmentWriter(String name, FrameCodec codec) {
        this.name = name;
        this.codec = codec;
        out.writeBytes(SegmentFormat.header());
    }

    /**
     * Adds a version; {@code entry} carries the key, lsn, seq and tombstone flag, this fills in the
     * frame position. Returns the completed entry.
     */
    public SegmentEntry add(SegmentEntry.Builder entry, byte[] data) {
        if (!entry.getTombstone()) {
            long offset = out.size();
            byte[] frame = codec.seal(data, FrameCodec.associatedData(name, offset));
            out.writeBytes(frame);
            entry.setOffset(offset).setLength(frame.length);
        }
        SegmentEntry built = entry.build();
        footer.addEntries(built);
        return built;
    }

    public int entries() {
        return footer.getEntriesCount();
    }

    /** Seals the footer and trailer; returns the whole object. */
    public Finished finish() {
        long footerOffset = out.size();
        byte[] sealed = codec.seal(footer.build().toByteArray(), FrameCodec.associatedData(name, footerOffset));
        out.writeBytes(sealed);
        out.writeBytes(SegmentFormat.trailer(footerOffset, sealed.length));
        return new Finished(out.toByteArray(), footerOffset, sealed.length);
    }

    public record Finished(byte[] bytes, long footerOffset, int footerLength) {}
}
