package org.dbfs.bucket.lease;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * A reader's claim on history: "I may still read pages as of {@code lsn}". Replicas register the
 * oldest LSN they may ask for (their B), time-travel mounts their fixed LSN; garbage collection
 * keeps every version such a read needs until the claim is gone or expired. One object per reader
 * under {@code leases/readers/}, written only by that reader.
 *
 * @param id        the reader's name, unique in the bucket (its object name)
 * @param lsn       the oldest LSN it may read
 * @param holder    who, for messages
 * @param expiresAt without renewal, the claim lapses then (a reader that died holds no history)
 */
public record ReaderLease(String id, long lsn, String holder, Instant expiresAt) {

    public boolean liveAt(Instant now) {
        return now.isBefore(expiresAt);
    }

    byte[] encode() {
        return ("format=1\nlsn=" + Long.toUnsignedString(lsn) + "\nholder=" + holder + "\nexpires_at=" + expiresAt + "\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    static ReaderLease decode(String id, byte[] bytes, String where) {
        Map<String, String> f = LeaseText.parse(bytes);
        try {
            if (!"1".equals(f.get("format"))) {
                throw new IllegalArgumentException("format=" + f.get("format"));
            }
            return new ReaderLease(id, Long.parseUnsignedLong(LeaseText.require(f, "lsn")), LeaseText.require(f, "holder"),
                    Instant.parse(LeaseText.require(f, "expires_at")));
        } catch (RuntimeException e) {
            throw new LeaseFormatException("the reader lease " + where + " does not parse: " + e.getMessage(), e);
        }
    }
}
