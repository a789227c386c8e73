package org.dbfs.pageserver.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The identity of a journal directory: a random id written once, when the directory is first used.
 * The bucket's manifest names the journal that holds its unpacked writes by this id, so that a page
 * server can tell its own journal from an empty or foreign one ({@value #FILE_NAME}, one line).
 */
public final class JournalIdentity {
    public static final String FILE_NAME = "IDENTITY";

    private JournalIdentity() {}

    /** The directory's identity, created (and made durable) if it has none yet. */
    public static String readOrCreate(Path journalDir) throws IOException {
        Files.createDirectories(journalDir);
        Path file = journalDir.resolve(FILE_NAME);
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (id.isEmpty()) {
                throw new IOException(file + " is empty; it names this journal to the bucket. Restore it, or move"
                        + " the journal directory aside if its writes are not needed");
            }
            return id;
        }
        String id = UUID.randomUUID().toString();
        Path tmp = journalDir.resolve(FILE_NAME + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel dir = FileChannel.open(journalDir, StandardOpenOption.READ)) {
            dir.force(true);
        }
        return id;
    }
}
