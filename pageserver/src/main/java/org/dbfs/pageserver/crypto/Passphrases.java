package org.dbfs.pageserver.crypto;

import java.nio.file.Path;

/** Where a passphrase comes from: a file's first line, else $DBFS_PASSPHRASE. */
public final class Passphrases {
    private Passphrases() {}

    public static char[] read(Path passphraseFileOrNull) {
        throw new UnsupportedOperationException("TODO");
    }
}
