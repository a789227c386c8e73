package org.dbfs.fuse;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelationPath;
import org.dbfs.pgformat.wal.Lsn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a read-only mount's state now and then: the overlay's size (what the standby wrote, bounded
 * by its own settings; main-fork relation files hold no data here, so they count as nothing), B
 * and S, and the page reads that went to the page server.
 */
final class OverlayReport implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OverlayReport.class);

    /** Bytes of the overlay's data directory: all, and without pg_wal. */
    record Size(long total, long withoutWal) {}

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "dbfs-overlay-report");
        t.setDaemon(true);
        return t;
    });

    OverlayReport(Path data, ReplicaFileSystem fs, ReplicaPages pages, ReplicaReadPoint readPoint, long periodSeconds) {
        timer.scheduleAtFixedRate(() -> {
            try {
                Size size = measure(data);
                Histogram h = pages.latencySinceLastCall();
                log.info("overlay {}: {} bytes ({} without pg_wal); B = {} (S = {}); {} page reads from the page server "
                        + "in all, {} in the last {} s (GetPage@B p50 {} us, p99 {} us, max {} us); {} main-fork page writes "
                        + "dropped", data, size.total(), size.withoutWal(), Lsn.format(readPoint.lsn()),
                        Lsn.format(readPoint.snapshotLsn()), pages.reads(), h.getTotalCount(), periodSeconds,
                        h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue(), fs.droppedPageWrites());
            } catch (IOException | RuntimeException e) {
                log.warn("overlay {}: cannot measure its size: {}", data, e.toString());
            }
        }, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    /** The overlay's bytes; a main-fork relation file is all holes here and counts as 0. */
    static Size measure(Path data) throws IOException {
        long[] total = new long[2];
        Path wal = data.resolve("pg_wal");
        Files.walkFileTree(data, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (!attrs.isRegularFile()) {
                    return FileVisitResult.CONTINUE;
                }
                String path = "/" + data.relativize(file).toString();
                boolean mainFork = RelationPath.parse(path).map(r -> r.forkNum() == ForkNumber.MAIN_FORKNUM).orElse(false);
                if (!mainFork) {
                    total[0] += attrs.size();
                    if (!file.startsWith(wal)) {
                        total[1] += attrs.size();
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // removed while walking
            }
        });
        return new Size(total[0], total[1]);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
