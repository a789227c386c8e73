package org.dbfs.walservice.wal;

/** The asked-for WAL is neither in the local log nor in the archive (never received, or removed). */
public class WalNotAvailableException extends RuntimeException {
    public WalNotAvailableException(String message) {
        super(message);
    }

    public WalNotAvailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
