package org.dbfs.bucket.crypto;

/** The passphrase does not open the bucket's key check. Nothing was changed. */
public class WrongPassphraseException extends RuntimeException {
    public WrongPassphraseException(String message) {
        super(message);
    }
}
