package org.dbfs.bucket.crypto;

/**
 * No usable passphrase was given: none at all, or a passphrase file that cannot be read or holds
 * none. Like a wrong one, it stops a start before anything is touched (exit 2), so that a service
 * manager does not retry a start that cannot succeed until an operator fixes it.
 */
public final class PassphraseUnavailableException extends IllegalArgumentException {
    public PassphraseUnavailableException(String message) {
        super(message);
    }

    public PassphraseUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
