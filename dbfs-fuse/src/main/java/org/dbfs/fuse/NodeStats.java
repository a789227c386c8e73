package org.dbfs.fuse;

import org.cryptomator.jfuse.api.Stat;
import org.dbfs.protocol.pageserver.v1.NodeAttr;

import java.time.Instant;

/** Fills a FUSE stat from the page server's NodeAttr. */
final class NodeStats {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private NodeStats() {
    }

    static void fill(Stat stat, NodeAttr attr) {
        stat.setMode(typeBits(attr) | (attr.getMode() & 07777));
        stat.setUid(attr.getUid());
        stat.setGid(attr.getGid());
        stat.setSize(attr.getSize());
        stat.setNLink((short) Math.max(attr.getNlink(), 1));
        stat.aTime().set(instant(attr.getAtimeNs()));
        stat.mTime().set(instant(attr.getMtimeNs()));
        stat.cTime().set(instant(attr.getCtimeNs()));
        RawStat.setIno(stat, attr.getIno());
        if (attr.getRdev() != 0) {
            RawStat.setRdev(stat, attr.getRdev());
        }
    }

    static int typeBits(NodeAttr attr) {
        return switch (attr.getType()) {
            case DIRECTORY -> Stat.S_IFDIR;
            case SYMLINK -> Stat.S_IFLNK;
            case FIFO -> Stat.S_IFIFO;
            case CHARACTER_DEVICE -> Stat.S_IFCHR;
            case BLOCK_DEVICE -> Stat.S_IFBLK;
            case SOCKET -> Stat.S_IFSOCK;
            default -> Stat.S_IFREG;
        };
    }

    static Instant instant(long epochNanos) {
        return Instant.ofEpochSecond(Math.floorDiv(epochNanos, NANOS_PER_SECOND), Math.floorMod(epochNanos, NANOS_PER_SECOND));
    }

    static long epochNanos(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), NANOS_PER_SECOND), instant.getNano());
    }
}
