package org.dbfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.cryptomator.jfuse.api.FuseConfig;
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
    /** libfuse 3's struct fuse_config: attr_timeout (a double) at 40, use_ino (an int) at 64. */
    private static final long CONFIG_ATTR_TIMEOUT = 40;
    private static final long CONFIG_USE_INO = 64;
    private static final boolean X86_64 = layoutKnown();

    private RawStat() {
    }

    /** The page server's inode number: what two hard links of one file share (with use_ino). */
    static void setIno(Stat stat, long ino) {
        put(stat, INO_OFFSET, ino);
    }

    static void setRdev(Stat stat, long rdev) {
        put(stat, RDEV_OFFSET, rdev);
    }

    /**
     * Sets libfuse's use_ino in the fuse_config that init receives (jfuse's FuseConfig is read-only),
     * so that the st_ino getattr reports is the one stat(2) shows: two hard links then show as one
     * file. Checked against what jfuse reads from the same struct (attr_timeout, use_ino) before writing.
     */
    static boolean useIno(FuseConfig cfg) {
        if (!X86_64) {
            return false; // st_ino cannot be written here either
        }
        try {
            MemorySegment config = JfuseStructs.of(cfg).reinterpret(CONFIG_USE_INO + Integer.BYTES);
            if (config.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, CONFIG_ATTR_TIMEOUT) != cfg.attrTimeout()
                    || config.get(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_USE_INO) != cfg.useIno()) {
                LoggerFactory.getLogger(RawStat.class).warn("libfuse's fuse_config is not laid out as expected: inode numbers"
                        + " stay libfuse's (hard links show two inode numbers)");
                return false;
            }
            config.set(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_USE_INO, 1);
            return true;
        } catch (RuntimeException e) {
            LoggerFactory.getLogger(RawStat.class).warn("cannot set use_ino ({}): inode numbers stay libfuse's", e.toString());
            return false;
        }
    }

    private static volatile boolean writable = true;

    private static void put(Stat stat, long offset, long value) {
        if (!X86_64 || !writable) {
            return;
        }
        try {
            JfuseStructs.of(stat).set(ValueLayout.JAVA_LONG_UNALIGNED, offset, value);
        } catch (RuntimeException e) {
            writable = false;
            LoggerFactory.getLogger(RawStat.class).warn("inode numbers are libfuse's and device nodes show device number 0:"
                    + " jfuse's stat is not the one this was written for ({})", e.toString());
        }
    }

    private static boolean layoutKnown() {
        String arch = System.getProperty("os.arch");
        if ("amd64".equals(arch) || "x86_64".equals(arch)) {
            return true;
        }
        LoggerFactory.getLogger(RawStat.class).warn("inode numbers are libfuse's and device nodes show device number 0"
                + " on {}: struct stat's layout is known here for x86-64 only", arch);
        return false;
    }
}
