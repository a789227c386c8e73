package org.dbfs.fuse;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;

/** The point a time-travel mount shows, as an operator writes it: an LSN, or a timestamptz. */
public final class PointInTime {
    /** PostgreSQL's timestamptz output ('2026-12-02 10:00:00.123456+00') and ISO 8601 ('2026-12-02T10:00:00Z'). */
    private static final DateTimeFormatter TIMESTAMPTZ = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd")
            .optionalStart().appendLiteral(' ').optionalEnd()
            .optionalStart().appendLiteral('T').optionalEnd()
            .appendPattern("HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .appendOffset("+HH:MM", "Z")
            .toFormatter();

    private PointInTime() {}

    public static ResolvePointRequest lsn(String text) {
        try {
            return ResolvePointRequest.newBuilder().setLsn(Lsn.parse(text)).build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not an LSN: '" + text + "' (PostgreSQL's form, e.g. 0/16B3748)");
        }
    }

    public static ResolvePointRequest time(String text) {
        String t = text.strip();
        if (t.matches(".*[+-]\\d\\d")) {
            t = t + ":00"; // PostgreSQL prints a whole-hour offset as +00
        }
        try {
            OffsetDateTime when = OffsetDateTime.parse(t, TIMESTAMPTZ);
            long micros = when.toEpochSecond() * 1_000_000L + when.getNano() / 1000;
            return ResolvePointRequest.newBuilder().setTimeUs(micros).build();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("not a time with a zone: '" + text + "'. Write it as PostgreSQL prints a"
                    + " timestamptz, e.g. '2026-12-02 10:00:00+00' (the offset is required)");
        }
    }
}
