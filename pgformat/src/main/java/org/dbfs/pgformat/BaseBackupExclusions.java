package org.dbfs.pgformat;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a copy of a running data directory leaves out, as pg_basebackup does (basebackup.c,
 * excludeDirContents and excludeFiles): a read-only mount's copy and the page server's snapshots
 * both follow it. Paths are absolute within the data directory.
 */
public final class BaseBackupExclusions {
    public static final String CONTROL_FILE = "/global/pg_control";

    /** Directories kept but emptied: excludeDirContents, plus pg_wal, whose WAL the standby fetches itself. */
    private static final Set<String> EMPTIED_DIRECTORIES = Set.of("/pg_stat_tmp", "/pg_replslot", "/pg_dynshmem",
            "/pg_notify", "/pg_serial", "/pg_snapshots", "/pg_subtrans", "/pg_wal");
    /** excludeFiles, plus the signal files: the standby's own setup adds its own. */
    private static final Set<String> EXCLUDED_FILES = Set.of("/postmaster.pid", "/postmaster.opts", "/backup_label",
            "/tablespace_map", "/backup_manifest", "/current_logfiles", "/standby.signal", "/recovery.signal");
    /** Excluded in any directory: the relcache init file, temporary files and temporary relations. */
    private static final Pattern EXCLUDED_ANYWHERE = Pattern.compile("pg_internal\\.init|pgsql_tmp.*|t[0-9]+_[0-9]+.*");

    private BaseBackupExclusions() {}

    /** The directory is copied, its contents are not. */
    public static boolean isEmptied(String directory) {
        return EMPTIED_DIRECTORIES.contains(directory);
    }

    /** The entry {@code name} at {@code path} is left out of the copy. */
    public static boolean isExcluded(String path, String name) {
        return EXCLUDED_FILES.contains(path) || EXCLUDED_ANYWHERE.matcher(name).matches();
    }
}
