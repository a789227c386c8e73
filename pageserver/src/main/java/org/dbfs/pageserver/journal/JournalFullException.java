package org.dbfs.pageserver.journal;

import java.io.IOException;

/**
 * A journal write failed for want of space on the device of the cache directory. Nothing was
 * acknowledged and the journal stays usable: the same write succeeds once space is freed. Callers
 * pass it on as ENOSPC, so that PostgreSQL reports a full disk rather than an I/O error.
 */
public final class JournalFullException extends IOException {
    public JournalFullException(String message, IOException cause) {
        super(message, cause);
    }
}
