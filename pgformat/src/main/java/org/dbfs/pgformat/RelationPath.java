package org.dbfs.pgformat;

import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Recognises the files of permanent relations by their path relative to the data directory (a
 * leading '/' is allowed), like PostgreSQL's relpath() read backwards:
 * <ul>
 *   <li>{@code global/RELNODE} (pg_global, dbNode 0)</li>
 *   <li>{@code base/DBOID/RELNODE} (pg_default)</li>
 *   <li>{@code pg_tblspc/SPCOID/PG_15_CATVERSION/DBOID/RELNODE}</li>
 *   <li>{@code LOCATION/PG_15_CATVERSION/DBOID/RELNODE} where LOCATION is a directory that a
 *       {@code pg_tblspc/SPCOID} symlink points to: the kernel resolves that symlink before the file
 *       system sees the path, so a tablespace kept inside the mount arrives under its location.</li>
 * </ul>
 * Each file name may carry a fork suffix ({@code _fsm}, {@code _vm}, {@code _init}) and a segment
 * suffix {@code .N}. Temporary relations ({@code tBACKEND_RELNODE}) and everything else are not
 * relation files: their pages are never WAL-logged, so they are plain data.
 */
public final class RelationPath {

    /** Maps a tablespace location (data-directory-relative, no leading or trailing '/') to its OID. */
    @FunctionalInterface
    public interface TablespaceLocations {
        TablespaceLocations NONE = location -> OptionalLong.empty();

        OptionalLong spcNodeOf(String location);
    }

    private RelationPath() {
    }

    public static Optional<RelationSegmentFile> parse(String path) {
        return parse(path, TablespaceLocations.NONE);
    }

    public static Optional<RelationSegmentFile> parse(String path, TablespaceLocations locations) {
        String relative = path.startsWith("/") ? path.substring(1) : path;
        if (relative.isEmpty() || relative.endsWith("/")) {
            return Optional.empty();
        }
        String[] parts = relative.split("/", -1);
        int n = parts.length;
        if (Arrays.asList(parts).contains("") || Arrays.asList(parts).contains(".") || Arrays.asList(parts).contains("..")) {
            return Optional.empty();
        }
        if (n == 2 && parts[0].equals("global")) {
            return file(parts[1], PgConstants.GLOBALTABLESPACE_OID, 0);
        }
        if (n == 3 && parts[0].equals("base")) {
            OptionalLong db = parseOid(parts[1]);
            return db.isPresent() ? file(parts[2], PgConstants.DEFAULTTABLESPACE_OID, db.getAsLong()) : Optional.empty();
        }
        if (n < 4 || !isTablespaceVersionDirectory(parts[n - 3])) {
            return Optional.empty();
        }
        OptionalLong db = parseOid(parts[n - 2]);
        if (db.isEmpty()) {
            return Optional.empty();
        }
        OptionalLong spc = OptionalLong.empty();
        if (n == 5 && parts[0].equals("pg_tblspc")) {
            spc = parseOid(parts[1]);
        }
        if (spc.isEmpty()) {
            spc = locations.spcNodeOf(String.join("/", Arrays.copyOfRange(parts, 0, n - 3)));
        }
        return spc.isPresent() ? file(parts[n - 1], spc.getAsLong(), db.getAsLong()) : Optional.empty();
    }

    /**
     * Whether {@code path} (mount-relative) names a file directly in a database directory of a data
     * directory at the root, {@code /base/DB/NAME}, or of a tablespace, {@code .../PG_x_y/DB/NAME}.
     */
    public static boolean isDatabaseDirectoryFile(String path) {
        String[] parts = (path.startsWith("/") ? path.substring(1) : path).split("/", -1);
        int n = parts.length;
        return n == 3 && parts[0].equals("base") && parseOid(parts[1]).isPresent()
                || n >= 4 && isTablespaceVersionDirectory(parts[n - 3]) && parseOid(parts[n - 2]).isPresent();
    }

    /**
     * TABLESPACE_VERSION_DIRECTORY is "PG_" + major version + "_" + catalog version; any major is
     * accepted so that one mount can serve the PostgreSQL versions we aim at.
     */
    public static boolean isTablespaceVersionDirectory(String name) {
        if (!name.startsWith("PG_")) {
            return false;
        }
        int sep = name.indexOf('_', 3);
        return sep > 3 && isDigits(name.substring(3, sep)) && isDigits(name.substring(sep + 1));
    }

    /** The file name part, after parse_filename_for_nontemp_relation(). */
    private static Optional<RelationSegmentFile> file(String name, long spcNode, long dbNode) {
        String rest = name;
        int segno = 0;
        int dot = rest.indexOf('.');
        if (dot >= 0) {
            OptionalLong seg = parseCanonicalNumber(rest.substring(dot + 1));
            // PostgreSQL never names segment 0 with a suffix; ".0" would alias the unsuffixed file.
            if (seg.isEmpty() || seg.getAsLong() == 0 || seg.getAsLong() > Integer.MAX_VALUE) {
                return Optional.empty();
            }
            segno = (int) seg.getAsLong();
            rest = rest.substring(0, dot);
        }
        ForkNumber fork = ForkNumber.MAIN_FORKNUM;
        int underscore = rest.indexOf('_');
        if (underscore >= 0) {
            Optional<ForkNumber> suffix = ForkNumber.fromFileNameSuffix(rest.substring(underscore + 1));
            if (suffix.isEmpty()) {
                return Optional.empty();
            }
            fork = suffix.get();
            rest = rest.substring(0, underscore);
        }
        OptionalLong relNode = parseOid(rest);
        if (relNode.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new RelationSegmentFile(RelTag.ofOids(spcNode, dbNode, relNode.getAsLong(), fork.forkNum()), segno));
    }

    /** A valid, non-zero OID written the way PostgreSQL prints it (no sign, no leading zeros). */
    private static OptionalLong parseOid(String s) {
        OptionalLong value = parseCanonicalNumber(s);
        return value.isPresent() && value.getAsLong() != 0 && value.getAsLong() <= 0xFFFF_FFFFL ? value : OptionalLong.empty();
    }

    /**
     * Leading zeros are refused so that two different names can never map to the same relation
     * (they would then share pages).
     */
    private static OptionalLong parseCanonicalNumber(String s) {
        if (!isDigits(s) || s.length() > 10 || (s.length() > 1 && s.charAt(0) == '0')) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(s));
    }

    private static boolean isDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }
}
