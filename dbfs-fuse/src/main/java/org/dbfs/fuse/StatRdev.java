package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import org.cryptomator.jfuse.api.Stat;
import org.slf4j.LoggerFactory;

/**
 * Writes st_rdev, which jfuse 0.7.1's Stat has no setter for, into the struct stat it wraps.
 * Only where the layout is known (x86-64 glibc: st_rdev at byte 40); elsewhere device nodes show
 * device number 0, and the mount says so once.
 */
final class StatRdev {
    private static final long X86_64_OFFSET = 40;
    private static final Field SEGMENT = segmentField();

    private StatRdev() {
    }

    static void set(Stat stat, long rdev) {
        if (SEGMENT == null) {
            return;
        }
        try {
            ((MemorySegment) SEGMENT.get(stat)).set(ValueLayout.JAVA_LONG_UNALIGNED, X86_64_OFFSET, rdev);
        } catch (IllegalAccessException | ClassCastException e) {
            throw new IllegalStateException("cannot set st_rdev through jfuse's Stat", e);
        }
    }

    private static Field segmentField() {
        if (!"amd64".equals(System.getProperty("os.arch")) && !"x86_64".equals(System.getProperty("os.arch"))) {
            LoggerFactory.getLogger(StatRdev.class).warn("device nodes show device number 0 on {}: st_rdev's place in"
                    + " struct stat is known here for x86-64 only", System.getProperty("os.arch"));
            return null;
        }
        try {
            Field f = Class.forName("org.cryptomator.jfuse.linux.amd64.StatImpl").getDeclaredField("segment");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(StatRdev.class).warn("device nodes show device number 0: jfuse's stat is not the"
                    + " one this was written for ({})", e.toString());
            return null;
        }
    }
}
