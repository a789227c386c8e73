package org.dbfs.pageserver.journal;

import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.FrameSealer;

/**
 * The kinds of journal file, told apart by how the file's name ends, so that a file keeps
 * replaying by the rules it was written under. New files are always {@link #CURRENT}.
 */
enum JournalFormat {
    /** AES-256-GCM under the file's own key; each frame behind a {@link FrameHeader} (length and its CRC). */
    CHECKED_GCM(".crc.journal", FrameHeader.BYTES),
    /** AES-256-GCM under the file's own key; each frame behind a bare u32 length. */
    GCM(".gcm.journal", 4),
    /** XChaCha20-Poly1305 under the bucket key; each frame behind a bare u32 length. The first format. */
    XCHACHA(".journal", 4);

    static final JournalFormat CURRENT = CHECKED_GCM;
    /** How every journal file's name ends, whatever its format (spares do not). */
    static final String ANY_SUFFIX = ".journal";

    final String suffix;
    /** Bytes in front of each frame; as many zeros there end the records. */
    final int headerBytes;

    JournalFormat(String suffix, int headerBytes) {
        this.suffix = suffix;
        this.headerBytes = headerBytes;
    }

    /** The format of journal file {@code fileName}. Longer suffixes are tried first: ".gcm.journal" also ends in ".journal". */
    static JournalFormat of(String fileName) {
        for (JournalFormat f : values()) {
            if (fileName.endsWith(f.suffix)) {
                return f;
            }
        }
        throw new IllegalArgumentException(fileName + " is not a journal file name");
    }

    FrameSealer sealer(FrameCodec codec, String fileName) {
        return this == XCHACHA ? codec.uncompressed() : codec.journalFrames(fileName);
    }

    /** Whether the length in front of a frame has a check of its own (else only the frame's tag). */
    boolean checkedHeaders() {
        return this == CHECKED_GCM;
    }

    /**
     * Whether a retired file of this format may be reused as a spare: its old frames must not open
     * under the next name, which holds for the formats whose key is derived from the file's name.
     */
    boolean reusable() {
        return this != XCHACHA;
    }
}
