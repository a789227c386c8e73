package org.dbfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class PointInTimeTest {
    private static long micros(String instant) {
        Instant i = Instant.parse(instant);
        return i.getEpochSecond() * 1_000_000L + i.getNano() / 1000;
    }

    @Test
    void acceptsWhatPostgresPrintsForATimestamptz() {
        assertEquals(micros("2026-12-02T10:00:00Z"), PointInTime.time("2026-12-02 10:00:00+00").getTimeUs());
        assertEquals(micros("2026-12-06T21:18:33.745173Z"), PointInTime.time("2026-12-06 21:18:33.745173+00").getTimeUs());
        assertEquals(micros("2026-12-02T04:30:00Z"), PointInTime.time("2026-12-02 10:00:00+05:30").getTimeUs());
        assertEquals(micros("2026-12-02T10:00:00.5Z"), PointInTime.time("2026-12-02T10:00:00.5Z").getTimeUs());
    }

    @Test
    void aTimeWithoutAZoneOrAnLsnThatIsNotOneIsRefusedWithTheFormNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PointInTime.time("2026-12-02 10:00:00"));
        assertTrue(e.getMessage().contains("the offset is required"), e.getMessage());
        assertEquals(0x1_6B37_48L, PointInTime.lsn("0/16B3748").getLsn());
        e = assertThrows(IllegalArgumentException.class, () -> PointInTime.lsn("16B3748"));
        assertTrue(e.getMessage().contains("0/16B3748"), e.getMessage());
    }
}
