package org.dbfs.bucket.lease;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * The content of a lease object: who may write, under which generation (the fencing token), until
 * when. Encoded as {@code key=value} lines so that an operator reading it through a tool sees what
 * the page server sees; the object itself is sealed like every other (see {@link LeaseStore}).
 *
 * @param generation  the fencing token: +1 at every change of holder, never reused
 * @param holder      who holds it, for messages: {@code host/pid}
 * @param journal     the identity of the holder's journal (its unpacked writes live there)
 * @param cacheDir    the holder's cache directory on its host, for messages
 * @param released    true once the holder stopped cleanly; anyone may take it then
 * @param renewedAt   when the holder last wrote it
 * @param expiresAt   after this, with no renewal, the holder is presumed dead
 */
public record Lease(long generation, String holder, String journal, String cacheDir, boolean released,
                    Instant renewedAt, Instant expiresAt) {

    /** Live: held and not expired at {@code now}. */
    public boolean liveAt(Instant now) {
        return !released && now.isBefore(expiresAt);
    }

    Lease renewed(Instant now, Instant expiry) {
        return new Lease(generation, holder, journal, cacheDir, false, now, expiry);
    }

    Lease releasedAt(Instant now) {
        return new Lease(generation, holder, journal, cacheDir, true, now, now);
    }

    /** A line for messages and {@code status} output. */
    public String describe() {
        return "generation " + generation + ", holder " + holder + " (cache directory " + cacheDir + ", journal "
                + journal + "), " + (released ? "released at " + renewedAt : "renewed at " + renewedAt
                + ", expires at " + expiresAt);
    }

    byte[] encode() {
        StringBuilder b = new StringBuilder();
        b.append("format=1\n");
        b.append("generation=").append(generation).append('\n');
        b.append("holder=").append(holder).append('\n');
        b.append("journal=").append(journal).append('\n');
        b.append("cache_dir=").append(cacheDir).append('\n');
        b.append("state=").append(released ? "released" : "held").append('\n');
        b.append("renewed_at=").append(renewedAt).append('\n');
        b.append("expires_at=").append(expiresAt).append('\n');
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    static Lease decode(byte[] bytes, String where) {
        Map<String, String> fields = LeaseText.parse(bytes);
        try {
            if (!"1".equals(fields.get("format"))) {
                throw new IllegalArgumentException("format=" + fields.get("format") + " (this build reads format=1)");
            }
            String state = LeaseText.require(fields, "state");
            if (!state.equals("held") && !state.equals("released")) {
                throw new IllegalArgumentException("state=" + state);
            }
            return new Lease(Long.parseLong(LeaseText.require(fields, "generation")), LeaseText.require(fields, "holder"),
                    LeaseText.require(fields, "journal"), LeaseText.require(fields, "cache_dir"), state.equals("released"),
                    Instant.parse(LeaseText.require(fields, "renewed_at")), Instant.parse(LeaseText.require(fields, "expires_at")));
        } catch (RuntimeException e) {
            throw new LeaseFormatException("the lease object " + where + " does not parse: " + e.getMessage(), e);
        }
    }
}
