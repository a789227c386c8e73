package org.dbfs.bucket.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The text of the bucket's key object: one {@code name=value} per line, in this order.
 *
 * <pre>
 * format=2
 * kdf=argon2id
 * m=19456
 * t=2
 * p=1
 * salt=&lt;base64 of 16 bytes&gt;
 * check=&lt;base64 of a frame sealing {@link #CHECK_TEXT}&gt;
 * sha256=&lt;hex of the SHA-256 of every byte before this line&gt;
 * </pre>
 *
 * Plain text on purpose: it is the one object a person may need to look at to understand why
 * a bucket does not open, and it holds nothing secret.
 *
 * <p>The last line, new in format 2, tells a damaged key object from a wrong passphrase: the key
 * is derived from the salt and cost, so with those damaged (or the check) the key check fails to
 * open just as it does under a wrong passphrase. It is verified before anything else, the format
 * included, so that a damaged "format=2" does not read as a newer format. Format 1 (no such line)
 * is still read; there the two cannot be told apart.
 */
record KeyObject(int format, KeyDerivation.Cost cost, byte[] salt, byte[] check) {
    static final int FORMAT = 2;
    static final String KDF = "argon2id";
    static final byte[] CHECK_TEXT = "DbFS bucket key check, format 1".getBytes(StandardCharsets.US_ASCII);
    private static final String DIGEST_FIELD = "sha256";
    private static final Set<String> FIELDS_1 = Set.of("format", "kdf", "m", "t", "p", "salt", "check");
    private static final Set<String> FIELDS_2 = Set.of("format", "kdf", "m", "t", "p", "salt", "check", DIGEST_FIELD);

    /** A key object of the current format. */
    KeyObject(KeyDerivation.Cost cost, byte[] salt, byte[] check) {
        this(FORMAT, cost, salt, check);
    }

    /** Whether the text carries its own checksum, so a failed key check means a wrong passphrase. */
    boolean checksummed() {
        return format >= 2;
    }

    static byte[] checkAssociatedData() {
        return FrameCodec.associatedData(BucketKeys.OBJECT_NAME, 0);
    }

    byte[] encode() {
        Base64.Encoder b64 = Base64.getEncoder();
        String text = "format=" + FORMAT + "\n"
                + "kdf=" + KDF + "\n"
                + "m=" + cost.memoryKiB() + "\n"
                + "t=" + cost.iterations() + "\n"
                + "p=" + cost.parallelism() + "\n"
                + "salt=" + b64.encodeToString(salt) + "\n"
                + "check=" + b64.encodeToString(check) + "\n";
        return (text + DIGEST_FIELD + "=" + sha256Hex(text) + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** @param where the bucket, for messages */
    static KeyObject decode(byte[] data, String where) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data))
                    .toString();
        } catch (CharacterCodingException e) {
            throw unreadable(where, "it is not text");
        }
        boolean digested = verifyDigest(text, where);
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw unreadable(where, "line \"" + abbreviate(line) + "\" is not name=value");
            }
            String name = line.substring(0, eq).strip();
            if (fields.put(name, line.substring(eq + 1).strip()) != null) {
                throw unreadable(where, "field " + name + " appears twice");
            }
        }
        // The format is checked before anything else so that a newer format, whatever its
        // fields, is reported as newer rather than as damaged.
        String format = fields.get("format");
        if (format == null) {
            throw unreadable(where, "it has no format field");
        }
        if (!format.equals("1") && !format.equals("2")) {
            if (format.matches("[0-9]{1,9}") && Integer.parseInt(format) > FORMAT) {
                throw new UnreadableKeyObjectException("the key object " + BucketKeys.OBJECT_NAME + " in bucket " + where
                        + " has format " + format + ", but this DbFS reads only format " + FORMAT
                        + ". It was written by a newer DbFS; use that version. Nothing was changed.");
            }
            throw unreadable(where, "format \"" + abbreviate(format) + "\" is not a known format");
        }
        Set<String> known = format.equals("1") ? FIELDS_1 : FIELDS_2;
        for (String name : fields.keySet()) {
            if (!known.contains(name)) {
                throw unreadable(where, "field \"" + abbreviate(name) + "\" is not part of format " + format);
            }
        }
        if (known == FIELDS_2 && !digested) {
            throw unreadable(where, "it has no " + DIGEST_FIELD + " line at its end");
        }
        if (!KDF.equals(require(fields, "kdf", where))) {
            throw unreadable(where, "kdf \"" + abbreviate(fields.get("kdf")) + "\" is not " + KDF);
        }
        KeyDerivation.Cost cost;
        try {
            cost = new KeyDerivation.Cost(
                    integer(fields, "m", where), integer(fields, "t", where), integer(fields, "p", where));
        } catch (IllegalArgumentException e) {
            throw unreadable(where, e.getMessage());
        }
        byte[] salt = base64(fields, "salt", where);
        if (salt.length != KeyDerivation.SALT_BYTES) {
            throw unreadable(where, "salt is " + salt.length + " bytes, not " + KeyDerivation.SALT_BYTES);
        }
        byte[] check = base64(fields, "check", where);
        return new KeyObject(Integer.parseInt(format), cost, salt, check);
    }

    /**
     * Checks the {@value #DIGEST_FIELD} line, if the text ends in one, against every byte before
     * it; returns whether there was one.
     */
    private static boolean verifyDigest(String text, String where) {
        String body = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        int lineStart = body.lastIndexOf('\n') + 1;
        if (!body.startsWith(DIGEST_FIELD + "=", lineStart)) {
            return false;
        }
        String recorded = body.substring(lineStart + DIGEST_FIELD.length() + 1); // not stripped: every byte counts
        if (!recorded.equals(sha256Hex(text.substring(0, lineStart)))) {
            throw damaged(where, "is corrupt: its text does not match the " + DIGEST_FIELD + " on its last line (a damaged byte)");
        }
        return true;
    }

    private static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    private static String require(Map<String, String> fields, String name, String where) {
        String v = fields.get(name);
        if (v == null) {
            throw unreadable(where, "it has no " + name + " field");
        }
        return v;
    }

    private static int integer(Map<String, String> fields, String name, String where) {
        String v = require(fields, name, where);
        if (!v.matches("[0-9]{1,9}")) {
            throw unreadable(where, name + "=\"" + abbreviate(v) + "\" is not a number");
        }
        return Integer.parseInt(v);
    }

    private static byte[] base64(Map<String, String> fields, String name, String where) {
        try {
            return Base64.getDecoder().decode(require(fields, name, where));
        } catch (IllegalArgumentException e) {
            throw unreadable(where, name + " is not valid base64");
        }
    }

    private static UnreadableKeyObjectException unreadable(String where, String detail) {
        return damaged(where, "is corrupt or from a newer DbFS version: " + detail);
    }

    private static UnreadableKeyObjectException damaged(String where, String what) {
        return new UnreadableKeyObjectException("the key object " + BucketKeys.OBJECT_NAME + " in bucket " + where + " "
                + what + ". Nothing was changed; restore the object from a copy of the bucket.");
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
