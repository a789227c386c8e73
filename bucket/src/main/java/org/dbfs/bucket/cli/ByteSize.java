package org.dbfs.bucket.cli;

import java.util.Locale;

/**
 * Byte counts and durations for people: {@code 512.0 MiB}, {@code 1.02 GiB}, {@code 2 min 05 s}.
 * Binary units, three significant digits (two decimals below 10, one above), a '.' whatever the locale.
 */
public final class ByteSize {
    private static final String[] UNITS = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private ByteSize() {}

    public static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        // Rounding can reach the next unit's size: 1023.96 KiB prints as 1.00 MiB, not 1024.0 KiB.
        if (value >= 1023.95 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, value < 9.995 ? "%.2f %s" : "%.1f %s", value, UNITS[unit]);
    }

    /** Whole seconds as {@code 8 s}, {@code 2 min 05 s} or {@code 1 h 02 min}. */
    public static String seconds(long seconds) {
        if (seconds < 60) {
            return seconds + " s";
        }
        if (seconds < 3600) {
            return String.format(Locale.ROOT, "%d min %02d s", seconds / 60, seconds % 60);
        }
        return String.format(Locale.ROOT, "%d h %02d min", seconds / 3600, seconds % 3600 / 60);
    }
}
