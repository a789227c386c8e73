package org.dbfs.pgformat.wal;

/**
 * rm_name (access/rmgrlist.h) and rm_identify (access/rmgrdesc/*desc.c) of every PG15 built-in
 * resource manager: the names pg_waldump prints. Identify works on xl_info as the rmgr sees it; the
 * low nibble (XLR_INFO_MASK) is never part of the type.
 */
public final class RmgrNames {
    private static final String[] RM_NAMES = {
        "XLOG", "Transaction", "Storage", "CLOG", "Database", "Tablespace", "MultiXact", "RelMap", "Standby",
        "Heap2", "Heap", "Btree", "Hash", "Gin", "Gist", "Sequence", "SPGist", "BRIN", "CommitTs",
        "ReplicationOrigin", "Generic", "LogicalMessage",
    };

    /** XLOG_HEAP_INIT_PAGE, XLOG_BRIN_INIT_PAGE: "+INIT" variants of some types. */
    private static final int INIT_PAGE = 0x80;
    /** XLOG_XACT_OPMASK: xact uses the top bit of its nibble as a flag (XLOG_XACT_HAS_INFO). */
    private static final int XLOG_XACT_OPMASK = 0x70;

    private RmgrNames() {
    }

    /** RM_MAX_BUILTIN_ID + 1. */
    public static int builtinCount() {
        return RM_NAMES.length;
    }

    /** rm_name of a built-in rmgr; custom ids (128..255) print as "custom%03d" as in PG15's GetRmgrDesc. */
    public static String rmName(int rmid) {
        if (rmid >= 0 && rmid < RM_NAMES.length) {
            return RM_NAMES[rmid];
        }
        return String.format("custom%03d", rmid);
    }

    /** pg_waldump's fallback for a type the rmgr does not name. */
    public static String identifyOrUnknown(int rmid, int info) {
        String id = identify(rmid, info);
        return id != null ? id : String.format("UNKNOWN (%x)", info & ~XLogRecord.XLR_INFO_MASK);
    }

    /** rm_identify, or null where PostgreSQL's returns NULL. */
    public static String identify(int rmid, int info) {
        int t = info & ~XLogRecord.XLR_INFO_MASK & 0xFF;
        return switch (rmid) {
            case 0 -> pick(t, "CHECKPOINT_SHUTDOWN", "CHECKPOINT_ONLINE", "NOOP", "NEXTOID", "SWITCH", "BACKUP_END",
                    "PARAMETER_CHANGE", "RESTORE_POINT", "FPW_CHANGE", "END_OF_RECOVERY", "FPI_FOR_HINT", "FPI", null,
                    "OVERWRITE_CONTRECORD");
            case 1 -> pick(info & XLOG_XACT_OPMASK, "COMMIT", "PREPARE", "ABORT", "COMMIT_PREPARED", "ABORT_PREPARED",
                    "ASSIGNMENT", "INVALIDATIONS");
            case 2 -> pick(t, null, "CREATE", "TRUNCATE");
            case 3 -> pick(t, "ZEROPAGE", "TRUNCATE");
            case 4 -> pick(t, "CREATE_FILE_COPY", "CREATE_WAL_LOG", "DROP");
            case 5 -> pick(t, "CREATE", "DROP");
            case 6 -> pick(t, "ZERO_OFF_PAGE", "ZERO_MEM_PAGE", "CREATE_ID", "TRUNCATE_ID");
            case 7 -> pick(t, "UPDATE");
            case 8 -> pick(t, "LOCK", "RUNNING_XACTS", "INVALIDATIONS");
            case 9 -> t == (0x50 | INIT_PAGE) ? "MULTI_INSERT+INIT"
                    : pick(t, "REWRITE", "PRUNE", "VACUUM", "FREEZE_PAGE", "VISIBLE", "MULTI_INSERT", "LOCK_UPDATED",
                            "NEW_CID");
            case 10 -> heap(t);
            case 11 -> pick(t, "INSERT_LEAF", "INSERT_UPPER", "INSERT_META", "SPLIT_L", "SPLIT_R", "INSERT_POST",
                    "DEDUP", "DELETE", "UNLINK_PAGE", "UNLINK_PAGE_META", "NEWROOT", "MARK_PAGE_HALFDEAD", "VACUUM",
                    "REUSE_PAGE", "META_CLEANUP");
            case 12 -> pick(t, "INIT_META_PAGE", "INIT_BITMAP_PAGE", "INSERT", "ADD_OVFL_PAGE", "SPLIT_ALLOCATE_PAGE",
                    "SPLIT_PAGE", "SPLIT_COMPLETE", "MOVE_PAGE_CONTENTS", "SQUEEZE_PAGE", "DELETE", "SPLIT_CLEANUP",
                    "UPDATE_META_PAGE", "VACUUM_ONE_PAGE");
            case 13 -> pick(t, null, "CREATE_PTREE", "INSERT", "SPLIT", "VACUUM_PAGE", "DELETE_PAGE",
                    "UPDATE_META_PAGE", "INSERT_LISTPAGE", "DELETE_LISTPAGE", "VACUUM_DATA_LEAF_PAGE");
            case 14 -> pick(t, "PAGE_UPDATE", "DELETE", "PAGE_REUSE", "PAGE_SPLIT", null, null, "PAGE_DELETE",
                    "ASSIGN_LSN");
            case 15 -> pick(t, "LOG");
            case 16 -> pick(t, null, "ADD_LEAF", "MOVE_LEAFS", "ADD_NODE", "SPLIT_TUPLE", "PICKSPLIT", "VACUUM_LEAF",
                    "VACUUM_ROOT", "VACUUM_REDIRECT");
            case 17 -> brin(t);
            case 18 -> pick(t, "ZEROPAGE", "TRUNCATE");
            case 19 -> pick(t, "SET", "DROP");
            case 20 -> "Generic"; // generic_identify names every record the same
            case 21 -> pick(t, "MESSAGE");
            default -> null;
        };
    }

    private static String heap(int t) {
        String base = pick(t & ~INIT_PAGE, "INSERT", "DELETE", "UPDATE", "TRUNCATE", "HOT_UPDATE", "CONFIRM", "LOCK",
                "INPLACE");
        if ((t & INIT_PAGE) == 0 || base == null) {
            return base;
        }
        // Only the types that can start a new page have a +INIT name.
        return switch (t & ~INIT_PAGE) {
            case 0x00, 0x20, 0x40 -> base + "+INIT";
            default -> null;
        };
    }

    private static String brin(int t) {
        return switch (t) {
            case 0x00 -> "CREATE_INDEX";
            case 0x10 -> "INSERT";
            case 0x10 | INIT_PAGE -> "INSERT+INIT";
            case 0x20 -> "UPDATE";
            case 0x20 | INIT_PAGE -> "UPDATE+INIT";
            case 0x30 -> "SAMEPAGE_UPDATE";
            case 0x40 -> "REVMAP_EXTEND";
            case 0x50 -> "DESUMMARIZE";
            default -> null;
        };
    }

    /** names[i] is the name of type i << 4. */
    private static String pick(int type, String... names) {
        int i = type >>> 4;
        return i < names.length ? names[i] : null;
    }
}
