package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import org.cryptomator.jfuse.api.Stat;
import org.slf4j.LoggerFactory;

/**
 * Writes st_ino and st_rdev, which jfuse 0.7.1's Stat has no setters for, into the struct stat it
 * wraps. Only where the layout is known (x86-64 glibc: st_ino at byte 8, st_rdev at 40); elsewhere
 * they stay as libfuse sets them (its own inode numbers, device number 0), and the mount says so once.
 */
final class RawStat {
    private static final long INO_OFFSET = 8;
    private static final long RDEV_OFFSET = 40;
    private static final Field SEGMENT = segmentField();

    private RawStat() {
    }

    /** The page server's inode number: what two hard links of one file share (with -o use_ino). */
    static void setIno(Stat stat, long ino) {
        put(stat, INO_OFFSET, ino);
    }

    static void setRdev(Stat stat, long rdev) {
        put(stat, RDEV_OFFSET, rdev);
    }

    /**
     * Sets libfuse's use_ino in the fuse_config that init receives (jfuse's FuseConfig is read-only),
     * so that the st_ino getattr reports is the one stat(2) shows: two hard links then show as one
     * file. libfuse 3's struct fuse_config has use_ino at byte 64; checked against what jfuse reads
     * from the same struct (attr_timeout at 40, use_ino) before writing.
     */
    static boolean useIno(org.cryptomator.jfuse.api.FuseConfig cfg) {
        if (SEGMENT == null) {
            return false; // st_ino cannot be written here either
        }
        try {
            Field f = cfg.getClass().getDeclaredField("segment");
            f.setAccessible(true);
            MemorySegment config = ((MemorySegment) f.get(cfg)).reinterpret(72);
            if (config.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, 40) != cfg.attrTimeout()
                    || config.get(ValueLayout.JAVA_INT_UNALIGNED, 64) != cfg.useIno()) {
                LoggerFactory.getLogger(RawStat.class).warn("libfuse's fuse_config is not laid out as expected: inode numbers"
                        + " stay libfuse's (hard links show two inode numbers)");
                return false;
            }
            config.set(ValueLayout.JAVA_INT_UNALIGNED, 64, 1);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(RawStat.class).warn("cannot set use_ino ({}): inode numbers stay libfuse's", e.toString());
            return false;
        }
    }

    private static void put(Stat stat, long offset, long value) {
        if (SEGMENT == null) {
            return;
        }
        try {
            ((MemorySegment) SEGMENT.get(stat)).set(ValueLayout.JAVA_LONG_UNALIGNED, offset, value);
        } catch (IllegalAccessException | ClassCastException e) {
            throw new IllegalStateException("cannot write struct stat through jfuse's Stat", e);
        }
    }

    private static Field segmentField() {
        if (!"amd64".equals(System.getProperty("os.arch")) && !"x86_64".equals(System.getProperty("os.arch"))) {
            LoggerFactory.getLogger(RawStat.class).warn("inode numbers are libfuse's and device nodes show device number 0"
                    + " on {}: struct stat's layout is known here for x86-64 only", System.getProperty("os.arch"));
            return null;
        }
        try {
            Field f = Class.forName("org.cryptomator.jfuse.linux.amd64.StatImpl").getDeclaredField("segment");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LoggerFactory.getLogger(RawStat.class).warn("inode numbers are libfuse's and device nodes show device number 0:"
                    + " jfuse's stat is not the one this was written for ({})", e.toString());
            return null;
        }
    }
}
