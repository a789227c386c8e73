package org.dbfs.bucket.crypto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

/** Where the bucket passphrase comes from: a file given on the command line, else the environment. */
public final class Passphrases {
    public static final String ENV = "DBFS_PASSPHRASE";

    private Passphrases() {}

    /**
     * The first line of {@code passphraseFileOrNull} (line ending stripped) if given, else
     * {@value #ENV}. The caller should wipe the returned array when done.
     *
     * @throws IllegalArgumentException naming what to do if there is no usable passphrase
     */
    public static char[] read(Path passphraseFileOrNull) {
        return read(passphraseFileOrNull, System::getenv);
    }

    static char[] read(Path passphraseFileOrNull, Function<String, String> env) {
        if (passphraseFileOrNull != null) {
            return fromFile(passphraseFileOrNull);
        }
        String value = env.apply(ENV);
        if (value == null || value.isEmpty()) {
            throw new PassphraseUnavailableException("no passphrase given: pass --passphrase-file FILE (first line is the"
                    + " passphrase) or set the environment variable " + ENV + ".");
        }
        return value.toCharArray();
    }

    private static char[] fromFile(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PassphraseUnavailableException("cannot read passphrase file " + file + ": " + e + ".", e);
        }
        CharBuffer chars;
        try {
            chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw new PassphraseUnavailableException("passphrase file " + file + " is not UTF-8 text.", e);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
        int end = 0;
        while (end < chars.limit() && chars.get(end) != '\n') {
            end++;
        }
        if (end > 0 && chars.get(end - 1) == '\r') {
            end--;
        }
        char[] passphrase = new char[end];
        chars.get(0, passphrase, 0, end);
        if (chars.hasArray()) {
            Arrays.fill(chars.array(), '\0');
        }
        if (passphrase.length == 0) {
            throw new PassphraseUnavailableException("passphrase file " + file + " starts with an empty line;"
                    + " its first line must be the passphrase.");
        }
        return passphrase;
    }
}
