package org.dbfs.tests;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A file system that can be filled: a tmpfs with a size limit mounted on a directory for one test
 * (the tests run as root). {@link #fill} takes every free byte with a ballast file, so that the
 * next write that needs room fails with ENOSPC as on a full disk; {@link #free} gives it back.
 */
final class SmallDisk implements AutoCloseable {
    private final Path dir;

    private SmallDisk(Path dir) {
        this.dir = dir;
    }

    static SmallDisk mount(Path dir, int megabytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m", "tmpfs", dir.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("cannot mount a " + megabytes + " MB tmpfs on " + dir + " (the tests run as root): " + out);
        }
        return new SmallDisk(dir);
    }

    private Path ballast() {
        return dir.resolve("ballast");
    }

    /** Writes the ballast until the disk is full. @return the bytes it took */
    long fill() throws IOException {
        byte[] chunk = new byte[64 << 10];
        long written = 0;
        try (OutputStream out = Files.newOutputStream(ballast())) {
            while (true) {
                out.write(chunk);
                written += chunk.length;
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
        return written;
    }

    void free() throws IOException {
        Files.deleteIfExists(ballast());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        new ProcessBuilder("umount", "-l", dir.toString()).inheritIO().start().waitFor();
    }
}
