package org.dbfs.fuse;

import org.dbfs.pgformat.RelationPath;

import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tablespaces whose location is inside this mount. PostgreSQL records a tablespace as the symlink
 * {@code pg_tblspc/OID -> LOCATION}; the kernel follows it, so relation files of such a tablespace
 * reach the mount under LOCATION, and only these symlinks tell which OID that is.
 */
final class TablespaceDirectory implements RelationPath.TablespaceLocations {

    static final String PG_TBLSPC = "/pg_tblspc";

    private final String mountPoint;
    private final Map<String, Long> spcNodeByLocation = new ConcurrentHashMap<>();
    private final Map<Long, String> locationBySpcNode = new ConcurrentHashMap<>();

    /** @param mountPoint absolute, normalized path of the mount point (symlink targets are absolute) */
    TablespaceDirectory(String mountPoint) {
        this.mountPoint = mountPoint.endsWith("/") ? mountPoint.substring(0, mountPoint.length() - 1) : mountPoint;
    }

    /** Notes a symlink at {@code linkPath} (mount-relative) if it is a tablespace link into the mount. */
    void symlinkCreated(String linkPath, String target) {
        OptionalLong spc = spcNodeOfLink(linkPath);
        if (spc.isEmpty() || !target.startsWith(mountPoint + "/")) {
            return;
        }
        String location = trimSlashes(target.substring(mountPoint.length()));
        spcNodeByLocation.put(location, spc.getAsLong());
        locationBySpcNode.put(spc.getAsLong(), location);
    }

    void removed(String path) {
        spcNodeOfLink(path).ifPresent(spc -> {
            String location = locationBySpcNode.remove(spc);
            if (location != null) {
                spcNodeByLocation.remove(location, spc);
            }
        });
    }

    @Override
    public OptionalLong spcNodeOf(String location) {
        Long spc = spcNodeByLocation.get(trimSlashes(location));
        return spc == null ? OptionalLong.empty() : OptionalLong.of(spc);
    }

    private static OptionalLong spcNodeOfLink(String path) {
        if (!path.startsWith(PG_TBLSPC + "/")) {
            return OptionalLong.empty();
        }
        String name = path.substring(PG_TBLSPC.length() + 1);
        if (name.isEmpty() || name.length() > 10 || !name.chars().allMatch(Character::isDigit)) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(name));
    }

    private static String trimSlashes(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && s.charAt(from) == '/') {
            from++;
        }
        while (to > from && s.charAt(to - 1) == '/') {
            to--;
        }
        return s.substring(from, to);
    }
}
