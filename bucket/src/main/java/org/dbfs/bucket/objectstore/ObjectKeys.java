package org.dbfs.bucket.objectstore;

/**
 * Validates object keys so that every store accepts exactly the same names: a key that works on the
 * local store must work on S3 and vice versa, and no key may escape the local bucket directory.
 */
final class ObjectKeys {
    /** Names starting with this are reserved for the local store's temp and lock files. */
    static final String RESERVED_PREFIX = ".dbfs-";

    private ObjectKeys() {}

    static String requireValid(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("object key must not be empty");
        }
        if (key.startsWith("/") || key.endsWith("/")) {
            throw new IllegalArgumentException(
                    "object key must be relative and name an object, not a directory: key=" + key);
        }
        if (key.indexOf('\\') >= 0 || key.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("object key must not contain '\\' or NUL: key=" + key);
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException(
                        "object key must not contain empty, '.' or '..' segments: key=" + key);
            }
            if (segment.startsWith(RESERVED_PREFIX)) {
                throw new IllegalArgumentException(
                        "object key segments must not start with '" + RESERVED_PREFIX + "' (reserved): key=" + key);
            }
        }
        return key;
    }

    /** Prefixes for {@code list} may be empty or end in '/', but must not climb out either. */
    static String requireValidPrefix(String prefix) {
        if (prefix == null) {
            throw new IllegalArgumentException("list prefix must not be null; use \"\" for all keys");
        }
        if (prefix.startsWith("/") || prefix.indexOf('\\') >= 0 || prefix.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("list prefix must be relative without '\\' or NUL: prefix=" + prefix);
        }
        for (String segment : prefix.split("/", -1)) {
            if (segment.equals("..") || segment.equals(".")) {
                throw new IllegalArgumentException("list prefix must not contain '.' or '..' segments: prefix=" + prefix);
            }
        }
        return prefix;
    }

    static void requireValidRange(String key, long offset, int length) {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException(
                    "range must be non-negative: key=" + key + " offset=" + offset + " length=" + length);
        }
    }
}
