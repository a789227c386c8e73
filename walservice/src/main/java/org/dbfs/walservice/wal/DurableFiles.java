package org.dbfs.walservice.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Files replaced so that a reader (or a restart after a crash) sees the old content or the whole
 * new one, never part of it: a temp file beside the target, fsync, rename, fsync of the directory
 * (as Kafka's CheckpointFile does).
 */
public final class DurableFiles {

    private DurableFiles() {
    }

    /**
     * Makes {@code target} hold {@code data}. The temp file is {@code target} + ".tmp", created with
     * the process's umask like any file the caller would create; it is removed if writing fails.
     */
    public static void replace(Path target, byte[] data) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /** Makes a rename or a file creation in {@code dir} durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
