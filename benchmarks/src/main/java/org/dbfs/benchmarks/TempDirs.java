package org.dbfs.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** A scratch directory per benchmark trial, so every run starts from an empty bucket and journal. */
final class TempDirs {
    private TempDirs() {}

    static Path create() throws IOException {
        // The default temp dir is on the root filesystem, so journal fsyncs hit the real disk, not tmpfs.
        return Files.createTempDirectory("dbfs-bench-");
    }

    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
