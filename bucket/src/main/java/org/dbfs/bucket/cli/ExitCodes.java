package org.dbfs.bucket.cli;

import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.crypto.PassphraseUnavailableException;
import org.dbfs.bucket.crypto.UnreadableKeyObjectException;
import org.dbfs.bucket.crypto.WrongPassphraseException;
import org.dbfs.bucket.objectstore.ObjectStoreException;

/**
 * The exit codes every DbFS service shares at start, so that an operator's scripts (and systemd's
 * {@code RestartPreventExitStatus}) can tell "fix the input" from "try again".
 */
public final class ExitCodes {
    /** The passphrase does not open the bucket's key, or none was given; nothing was touched. */
    public static final int WRONG_PASSPHRASE = 2;
    /** The bucket or its endpoint cannot be reached; retrying later may work. */
    public static final int BUCKET_UNAVAILABLE = 3;
    /** An object failed authentication or does not parse. */
    public static final int CORRUPT = 4;
    /** A local file (cache directory, journal, WAL) could not be used. */
    public static final int LOCAL_IO = 5;
    /** The bucket's state forbids this start (another writer holds it, or its unpacked writes are missing). */
    public static final int BUCKET_REFUSED = 7;

    private ExitCodes() {}

    /** Prints {@code e} for an operator and maps it to an exit code. */
    public static int of(String program, Exception e) {
        System.err.println(program + ": " + e.getMessage());
        return switch (e) {
            case WrongPassphraseException w -> WRONG_PASSPHRASE;
            case PassphraseUnavailableException p -> WRONG_PASSPHRASE;
            case UnreadableKeyObjectException u -> CORRUPT;
            case IllegalArgumentException a -> 1;
            case RefusedStartException r -> BUCKET_REFUSED;
            case ObjectStoreException o -> BUCKET_UNAVAILABLE;
            case IntegrityException i -> CORRUPT;
            case java.io.IOException io when io.getCause() instanceof ObjectStoreException -> BUCKET_UNAVAILABLE;
            case java.io.IOException io -> LOCAL_IO;
            default -> {
                e.printStackTrace();
                yield 1;
            }
        };
    }
}
