package org.dbfs.pgformat;

/**
 * Compile-time constants of a stock PostgreSQL build (pg_config.h, pg_tablespace_d.h), under
 * PostgreSQL's own names so they can be looked up in its sources.
 */
public final class PgConstants {

    /** Size of a relation page; a stock build uses 8 KB. */
    public static final int BLCKSZ = 8192;

    /** Blocks per relation segment file (1 GB / BLCKSZ); block N lives in segment N / RELSEG_SIZE. */
    public static final int RELSEG_SIZE = 131072;

    /** OID of pg_default, the tablespace of everything under {@code base/}. */
    public static final long DEFAULTTABLESPACE_OID = 1663;

    /** OID of pg_global, the tablespace of shared catalogs under {@code global/}. */
    public static final long GLOBALTABLESPACE_OID = 1664;

    private PgConstants() {
    }
}
