package org.dbfs.bucket.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The text of the bucket's key object: one {@code name=value} per line, in this order.
 *
 * <pre>
 * format=1
 * kdf=argon2id
 * m=19456
 * t=2
 * p=1
 * salt=&lt;base64 of 16 bytes&gt;
 * check=&lt;base64 of a frame sealing {@link #CHECK_TEXT}&gt;
 * </pre>
 *
 * Plain text on purpose: it is the one object a person may need to look at to understand why
 * a bucket does not open, and it holds nothing secret.
 */
record KeyObject(KeyDerivation.Cost cost, byte[] salt, byte[] check) {
    static final int FORMAT = 1;
    static final String KDF = "argon2id";
    static final byte[] CHECK_TEXT = "DbFS bucket key check, format 1".getBytes(StandardCharsets.US_ASCII);
    private static final Set<String> FIELDS = Set.of("format", "kdf", "m", "t", "p", "salt", "check");

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
        return text.getBytes(StandardCharsets.US_ASCII);
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
        if (!format.equals(Integer.toString(FORMAT))) {
            if (format.matches("[0-9]{1,9}") && Integer.parseInt(format) > FORMAT) {
                throw new UnreadableKeyObjectException("the key object " + BucketKeys.OBJECT_NAME + " in bucket " + where
                        + " has format " + format + ", but this DbFS reads only format " + FORMAT
                        + ". It was written by a newer DbFS; use that version. Nothing was changed.");
            }
            throw unreadable(where, "format \"" + abbreviate(format) + "\" is not a known format");
        }
        for (String name : fields.keySet()) {
            if (!FIELDS.contains(name)) {
                throw unreadable(where, "field \"" + abbreviate(name) + "\" is not part of format " + FORMAT);
            }
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
        return new KeyObject(cost, salt, check);
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
        return new UnreadableKeyObjectException("the key object " + BucketKeys.OBJECT_NAME + " in bucket " + where
                + " is corrupt or from a newer DbFS version: " + detail
                + ". Nothing was changed; restore the object from a copy of the bucket.");
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
