package org.dbfs.walservice.wal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An fsync of the local WAL failed: the log refuses every later write and sync, and the WAL
 * service exits for a restart, which resumes from the position file (it only ever names WAL that
 * an fsync made durable) and streams the rest again from the primary's slot.
 */
public final class LocalWalFailedException extends RuntimeException {
    public LocalWalFailedException(Path dir, IOException cause) {
        super("an fsync of the local WAL in " + dir + " failed (" + cause.getMessage() + "): no WAL is acknowledged from"
                + " here on. Start the WAL service again once the disk is sound; it resumes from its last durable position", cause);
    }
}
