package org.dbfs.bucket.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private static final long MIB = 1 << 20;
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final List<String> lines = new ArrayList<>();

    private void at(double seconds) {
        clock.set(1_000_000_000L + (long) (seconds * 1e9));
    }

    @Test
    void formatsBytesAndDurationsAsTheExampleLine() {
        assertEquals("0 B", ByteSize.format(0));
        assertEquals("1023 B", ByteSize.format(1023));
        assertEquals("1.00 KiB", ByteSize.format(1024));
        assertEquals("512.0 MiB", ByteSize.format(512 * MIB));
        assertEquals("64.1 MiB", ByteSize.format((long) (64.1 * MIB)));
        assertEquals("1.02 GiB", ByteSize.format((long) (1.02 * 1024 * MIB)));
        assertEquals("1.00 MiB", ByteSize.format(MIB - 10), "rounds up into the next unit, not 1024.0 KiB");
        assertEquals("8.00 EiB", ByteSize.format(Long.MAX_VALUE));
        assertEquals("8 s", ByteSize.seconds(8));
        assertEquals("2 min 05 s", ByteSize.seconds(125));
        assertEquals("1 h 02 min", ByteSize.seconds(3720));
    }

    @Test
    void plainLinesComeEveryTenthOrEveryFiveSecondsAfterAQuietFirstSecond() {
        Progress p = Progress.lines("import", 1000 * MIB, lines::add, clock::get);
        at(0.5);
        p.update(200 * MIB);
        assertEquals(List.of(), lines, "nothing in the first second");
        at(1.0);
        p.update(250 * MIB);
        assertEquals(List.of("import: 250.0 MiB of 1000.0 MiB (25%), 250.0 MiB/s, ETA 3 s"), lines);
        at(1.5);
        p.update(260 * MIB);
        assertEquals(1, lines.size(), "the same tenth, less than 5 s later: no line");
        at(2.0);
        p.update(300 * MIB);
        assertEquals("import: 300.0 MiB of 1000.0 MiB (30%), 150.0 MiB/s, ETA 5 s", lines.get(1));
        at(6.9);
        p.update(390 * MIB);
        assertEquals(2, lines.size());
        at(7.0);
        p.update(390 * MIB);
        assertEquals(3, lines.size(), "5 s after the last line, a line even within the same tenth");
        at(10.0);
        p.update(1000 * MIB);
        p.finish();
        assertEquals("import: 1000.0 MiB of 1000.0 MiB (100%), 100.0 MiB/s, ETA 0 s", lines.get(3));
        assertEquals("import: 1000.0 MiB of 1000.0 MiB (100%), 100.0 MiB/s, took 10 s", lines.get(4));
        p.finish();
        assertEquals(5, lines.size(), "finish is idempotent");
    }

    @Test
    void aShortRunPrintsNothingAtAll() {
        Progress p = Progress.lines("waldump", 10 * MIB, lines::add, clock::get);
        at(0.9);
        p.update(10 * MIB);
        p.finish();
        assertEquals(List.of(), lines);
    }

    @Test
    void anUnknownTotalShowsAmountAndRateEveryFiveSeconds() {
        Progress p = Progress.lines("pack", 0, lines::add, clock::get);
        at(2);
        p.advance(100 * MIB);
        assertEquals(List.of(), lines, "no tenths without a total: the first line waits for 5 s");
        at(5);
        p.advance(400 * MIB);
        p.finish();
        assertEquals(List.of("pack: 500.0 MiB, 100.0 MiB/s", "pack: 500.0 MiB, 100.0 MiB/s, took 5 s"), lines);
    }

    @Test
    void theBarIsRedrawnInPlaceAtMostFourTimesASecond() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream terminal = new PrintStream(out, true, StandardCharsets.UTF_8);
        Progress p = Progress.bar("import", 100 * MIB, terminal, clock::get);
        for (int ms = 0; ms <= 3000; ms += 10) {
            clock.set(1_000_000_000L + TimeUnit.MILLISECONDS.toNanos(ms));
            p.update(ms * 100 * MIB / 4000);
        }
        String drawn = out.toString(StandardCharsets.UTF_8);
        long redraws = drawn.chars().filter(c -> c == '\r').count();
        assertTrue(redraws >= 8 && redraws <= 9, "2 s of drawing at 4 per second, got " + redraws + ": " + drawn);
        assertFalse(drawn.contains("\n"), "no newline before finish");
        assertTrue(drawn.contains("\rimport: [###############.....] 75.0 MiB of 100.0 MiB (75%), 25.0 MiB/s, ETA 1 s"), drawn);
        p.finish();
        String all = out.toString(StandardCharsets.UTF_8);
        assertTrue(all.endsWith("(75%), 25.0 MiB/s, took 3 s\n"), all);
    }

    @Test
    void aShorterRedrawClearsTheRestOfTheLongerOne() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Progress p = Progress.bar("x", 0, new PrintStream(out, true, StandardCharsets.UTF_8), clock::get);
        at(1);
        p.update(2000 * MIB); // "x: 1.95 GiB, 1.95 GiB/s"
        at(2);
        p.update(0); // "x: 0 B, 0 B/s": shorter
        String[] draws = out.toString(StandardCharsets.UTF_8).split("\r");
        assertEquals("x: 1.95 GiB, 1.95 GiB/s", draws[1]);
        assertEquals("x: 0 B, 0 B/s" + " ".repeat(draws[1].length() - "x: 0 B, 0 B/s".length()), draws[2]);
    }
}
