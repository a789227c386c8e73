package org.dbfs.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbfs.pgformat.wal.Lsn;

/**
 * What a read-only mount answers on its control socket: its state, and {@code arm}, after which
 * the standby's own promotion switches the mount to read-write ({@link ReplicaPromotion}). Arming
 * is what makes promotion possible at all: a {@code pg_ctl promote} on an unarmed replica fails at
 * its history file, because without a fence the old primary could still write.
 */
final class ReplicaControl {
    static final String PROMOTED_MARKER = "promoted";

    private final SwitchableFileSystem switchable;
    private final java.util.function.Function<ReplicaPromotion.Armed, ReplicaPromotion> promotionFactory;
    private final ReplicaReadPoint readPoint;
    private final java.util.function.Supplier<ReplicaLease.State> readerLease;
    private final long snapshotLsn;
    private final String holder;
    private final Path overlayDir;
    private volatile ReplicaPromotion promotion;

    ReplicaControl(SwitchableFileSystem switchable, java.util.function.Function<ReplicaPromotion.Armed, ReplicaPromotion> factory,
                   ReplicaReadPoint readPoint, java.util.function.Supplier<ReplicaLease.State> readerLease, long snapshotLsn,
                   String holder, Path overlayDir) {
        this.switchable = switchable;
        this.promotionFactory = factory;
        this.readPoint = readPoint;
        this.readerLease = readerLease;
        this.snapshotLsn = snapshotLsn;
        this.holder = holder;
        this.overlayDir = overlayDir;
    }

    ReplicaPromotion promotion() {
        return promotion;
    }

    /** Refuses an overlay a promotion used: its copy is a primary's past now, not a replica's start. */
    static void checkNotPromoted(Path overlayDir) throws IOException {
        Path marker = overlayDir.resolve(PROMOTED_MARKER);
        if (Files.exists(marker)) {
            throw new IOException("the overlay " + overlayDir + " was promoted (" + Files.readString(marker, StandardCharsets.UTF_8).strip()
                    + "): its files became a primary's. Mount a replica with a fresh --overlay-dir");
        }
    }

    void markPromoted(ReplicaPromotion.Done d) {
        try {
            Files.writeString(overlayDir.resolve(PROMOTED_MARKER), "timeline " + d.timeline() + " at " + Lsn.format(d.branchLsn())
                    + ", epoch " + d.epoch() + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(ReplicaControl.class).warn("cannot mark the overlay {} promoted: {}", overlayDir, e.toString());
        }
    }

    String handle(MountControl.Request r) {
        return switch (r.command()) {
            case "status" -> status();
            case "arm" -> arm(r);
            default -> "error unknown command " + r.command() + " (status, arm epoch=N min_lsn=X/Y)";
        };
    }

    private String status() {
        ReplicaPromotion p = promotion;
        ReplicaPromotion.Done d = p == null ? null : p.done();
        if (d != null && switchable.switched()) {
            return "ok mode=rw holder=" + holder + " timeline=" + d.timeline() + " branch_lsn=" + Lsn.format(d.branchLsn())
                    + " epoch=" + d.epoch() + " promote_ms=" + d.millis() + " plain_files=" + d.plainFiles()
                    + " plain_bytes=" + d.plainBytes();
        }
        return "ok mode=" + (readPoint.isFixed() ? "time-travel" : "ro") + " holder=" + holder + " b="
                + Lsn.format(readPoint.lsn()) + " s=" + Lsn.format(snapshotLsn)
                + " reader_lease=" + readerLease.get().text() + " armed=" + (p != null);
    }

    private synchronized String arm(MountControl.Request r) {
        if (readPoint.isFixed()) {
            return "error this is a time-travel mount as of " + Lsn.format(readPoint.lsn()) + ": it cannot be promoted"
                    + " (create a branch for a writable copy)";
        }
        if (switchable.switched()) {
            return "error this mount was promoted already";
        }
        String epoch = r.fields().get("epoch");
        String minLsn = r.fields().get("min_lsn");
        if (epoch == null || minLsn == null) {
            return "error arm needs epoch=N min_lsn=X/Y";
        }
        ReplicaPromotion p = promotionFactory.apply(new ReplicaPromotion.Armed(Long.parseLong(epoch), Lsn.parse(minLsn)));
        promotion = p;
        switchable.arm(p);
        return "ok armed epoch=" + epoch + " min_lsn=" + minLsn;
    }
}
