package org.dbfs.pgformat;

import org.dbfs.pgformat.wal.Lsn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * PostgreSQL 15's {@code global/pg_control}: ControlFileData (catalog/pg_control.h,
 * PG_CONTROL_VERSION 1300), as far as DbFS needs it.
 *
 * <p>The file is PG_CONTROL_FILE_SIZE (8192) bytes; only the first sizeof(ControlFileData) = 296
 * bytes mean anything, the rest is zero. The struct is written raw, so the layout below is the x86-64
 * one (little endian, uint64 and double 8-byte aligned, bool one byte), worked out from the PG 15
 * header and checked against a file written by initdb:
 *
 * <pre>
 *   0 system_identifier        uint64
 *   8 pg_control_version       uint32
 *  12 catalog_version_no       uint32
 *  16 state                    DBState (int)       +4 pad
 *  24 time                     pg_time_t (int64)
 *  32 checkPoint               XLogRecPtr
 *  40 checkPointCopy           CheckPoint, 88 bytes:
 *      +0 redo                 XLogRecPtr
 *      +8 ThisTimeLineID       TimeLineID
 *     +12 PrevTimeLineID       TimeLineID
 *     +16 fullPageWrites       bool                +7 pad
 *     +24 nextXid              FullTransactionId (uint64)
 *     +32 nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDB, oldestMulti, oldestMultiDB
 *                              uint32 x7           +4 pad
 *     +64 time                 pg_time_t
 *     +72 oldestCommitTsXid, newestCommitTsXid, oldestActiveXid
 *                              uint32 x3           +4 pad
 * 128 unloggedLSN              XLogRecPtr
 * 136 minRecoveryPoint         XLogRecPtr
 * 144 minRecoveryPointTLI      TimeLineID          +4 pad
 * 152 backupStartPoint         XLogRecPtr
 * 160 backupEndPoint           XLogRecPtr
 * 168 backupEndRequired        bool                +3 pad
 * 172 wal_level                int
 * 176 wal_log_hints            bool                +3 pad
 * 180 MaxConnections, max_worker_processes, max_wal_senders, max_prepared_xacts, max_locks_per_xact
 *                              int x5
 * 200 track_commit_timestamp   bool                +3 pad
 * 204 maxAlign                 uint32
 * 208 floatFormat              double (1234567.0)
 * 216 blcksz, relseg_size, xlog_blcksz, xlog_seg_size, nameDataLen, indexMaxKeys,
 *     toast_max_chunk_size, loblksize
 *                              uint32 x8
 * 248 float8ByVal              bool                +3 pad
 * 252 data_checksum_version    uint32
 * 256 mock_authentication_nonce char[32]
 * 288 crc                      pg_crc32c           +4 pad to sizeof = 296
 * </pre>
 *
 * <p>crc is CRC-32C (PostgreSQL's INIT/COMP/FIN_CRC32C, which is the standard CRC-32C that
 * {@link CRC32C} computes) over the bytes [0, offsetof(ControlFileData, crc)), stored little endian.
 * The checks follow ReadControlFile: the version first, because a file of another version has
 * another layout, and its CRC would be looked for in the wrong place.
 */
public final class ControlFile {

    /** PG_CONTROL_VERSION of PostgreSQL 15; it is bumped whenever the struct's layout changes. */
    public static final int PG_CONTROL_VERSION = 1300;
    /** PG_CONTROL_FILE_SIZE: what PostgreSQL writes, so that a short read means a broken file. */
    public static final int PG_CONTROL_FILE_SIZE = 8192;
    /** sizeof(ControlFileData) on x86-64: offsetof(crc) + 4, padded to the 8-byte alignment of uint64. */
    public static final int SIZEOF_CONTROL_FILE_DATA = 296;

    /** DBState values, PostgreSQL's names. */
    public static final int DB_STARTUP = 0;
    public static final int DB_SHUTDOWNED = 1;
    public static final int DB_SHUTDOWNED_IN_RECOVERY = 2;
    public static final int DB_SHUTDOWNING = 3;
    public static final int DB_IN_CRASH_RECOVERY = 4;
    public static final int DB_IN_ARCHIVE_RECOVERY = 5;
    public static final int DB_IN_PRODUCTION = 6;

    public static final int SYSTEM_IDENTIFIER_OFFSET = 0;
    public static final int PG_CONTROL_VERSION_OFFSET = 8;
    public static final int STATE_OFFSET = 16;
    public static final int CHECKPOINT_OFFSET = 32;
    /** offsetof(ControlFileData, checkPointCopy); the CheckPoint fields below are relative to it. */
    public static final int CHECKPOINT_COPY_OFFSET = 40;
    public static final int CHECKPOINT_REDO_OFFSET = CHECKPOINT_COPY_OFFSET;
    public static final int CHECKPOINT_THIS_TIMELINE_ID_OFFSET = CHECKPOINT_COPY_OFFSET + 8;
    public static final int MIN_RECOVERY_POINT_OFFSET = 136;
    public static final int MIN_RECOVERY_POINT_TLI_OFFSET = 144;
    public static final int BACKUP_START_POINT_OFFSET = 152;
    public static final int BACKUP_END_POINT_OFFSET = 160;
    public static final int BACKUP_END_REQUIRED_OFFSET = 168;
    public static final int XLOG_SEG_SIZE_OFFSET = 228;
    public static final int DATA_CHECKSUM_VERSION_OFFSET = 252;
    /** offsetof(ControlFileData, crc): the CRC covers every byte before it. */
    public static final int CRC_OFFSET = 288;

    private final long systemIdentifier;
    private final int state;
    private final long checkPoint;
    private final long checkPointRedo;
    private final int checkPointTimeLineId;
    private final long minRecoveryPoint;
    private final int minRecoveryPointTLI;
    private final long backupStartPoint;
    private final long backupEndPoint;
    private final boolean backupEndRequired;
    private final int xlogSegSize;
    private final int dataChecksumVersion;

    private ControlFile(ByteBuffer le) {
        systemIdentifier = le.getLong(SYSTEM_IDENTIFIER_OFFSET);
        state = le.getInt(STATE_OFFSET);
        checkPoint = le.getLong(CHECKPOINT_OFFSET);
        checkPointRedo = le.getLong(CHECKPOINT_REDO_OFFSET);
        checkPointTimeLineId = le.getInt(CHECKPOINT_THIS_TIMELINE_ID_OFFSET);
        minRecoveryPoint = le.getLong(MIN_RECOVERY_POINT_OFFSET);
        minRecoveryPointTLI = le.getInt(MIN_RECOVERY_POINT_TLI_OFFSET);
        backupStartPoint = le.getLong(BACKUP_START_POINT_OFFSET);
        backupEndPoint = le.getLong(BACKUP_END_POINT_OFFSET);
        backupEndRequired = le.get(BACKUP_END_REQUIRED_OFFSET) != 0;
        xlogSegSize = le.getInt(XLOG_SEG_SIZE_OFFSET);
        dataChecksumVersion = le.getInt(DATA_CHECKSUM_VERSION_OFFSET);
    }

    /**
     * Reads a pg_control file.
     *
     * @param file the file's bytes; at least sizeof(ControlFileData), normally all 8192
     * @throws ControlFileException if the file is too short, of another pg_control_version, or
     *                              fails its CRC
     */
    public static ControlFile parse(byte[] file) {
        return new ControlFile(validated(file));
    }

    /**
     * A copy of {@code file} with minRecoveryPoint and minRecoveryPointTLI set and the CRC
     * recomputed; every other byte, including the zero tail, is kept.
     *
     * <p>The input is validated first, so that a damaged file is never given a fresh, valid CRC.
     *
     * @throws ControlFileException as {@link #parse}
     */
    public static byte[] withMinRecoveryPoint(byte[] file, long lsn, int tli) {
        validated(file);
        byte[] copy = file.clone();
        ByteBuffer le = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        le.putLong(MIN_RECOVERY_POINT_OFFSET, lsn);
        le.putInt(MIN_RECOVERY_POINT_TLI_OFFSET, tli);
        le.putInt(CRC_OFFSET, crc(copy));
        return copy;
    }

    private static ByteBuffer validated(byte[] file) {
        if (file.length < SIZEOF_CONTROL_FILE_DATA) {
            throw new ControlFileException("pg_control too short: length=" + file.length
                    + ", expected at least sizeof(ControlFileData)=" + SIZEOF_CONTROL_FILE_DATA);
        }
        ByteBuffer le = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int version = le.getInt(PG_CONTROL_VERSION_OFFSET);
        if (version != PG_CONTROL_VERSION) {
            throw new ControlFileException("pg_control version " + version + ", expected "
                    + PG_CONTROL_VERSION + " (PostgreSQL 15)");
        }
        int stored = le.getInt(CRC_OFFSET);
        int computed = crc(file);
        if (stored != computed) {
            throw new ControlFileException(String.format(
                    "incorrect checksum in pg_control: stored crc=%08X, computed=%08X", stored, computed));
        }
        return le;
    }

    private static int crc(byte[] file) {
        CRC32C crc = new CRC32C();
        crc.update(file, 0, CRC_OFFSET);
        return (int) crc.getValue();
    }

    /** system_identifier; unsigned, print with {@link Long#toUnsignedString(long)} as PostgreSQL does. */
    public long systemIdentifier() {
        return systemIdentifier;
    }

    /** state: one of the DB_* DBState values. */
    public int state() {
        return state;
    }

    /** checkPoint: the LSN of the latest checkpoint record ("Latest checkpoint location"). */
    public long checkPoint() {
        return checkPoint;
    }

    /** checkPointCopy.redo: where replay of that checkpoint starts ("Latest checkpoint's REDO location"). */
    public long checkPointRedo() {
        return checkPointRedo;
    }

    /** checkPointCopy.ThisTimeLineID: the timeline the latest checkpoint was written on. */
    public int checkPointTimeLineId() {
        return checkPointTimeLineId;
    }

    /** minRecoveryPoint: recovery must replay at least up to here before the data is consistent; 0 if none. */
    public long minRecoveryPoint() {
        return minRecoveryPoint;
    }

    /** minRecoveryPointTLI: the timeline of minRecoveryPoint; 0 if none. */
    public int minRecoveryPointTLI() {
        return minRecoveryPointTLI;
    }

    /** backupStartPoint: redo pointer of the base backup still being recovered from; 0 if none. */
    public long backupStartPoint() {
        return backupStartPoint;
    }

    /** backupEndPoint: end of a backup taken from a standby, still to be reached; 0 if none. */
    public long backupEndPoint() {
        return backupEndPoint;
    }

    /** backupEndRequired: recovery must see an end-of-backup record before it may start up. */
    public boolean backupEndRequired() {
        return backupEndRequired;
    }

    /** xlog_seg_size: the WAL segment size in bytes, fixed at initdb. */
    public int xlogSegSize() {
        return xlogSegSize;
    }

    /** data_checksum_version: 0 if data pages carry no checksums. */
    public int dataChecksumVersion() {
        return dataChecksumVersion;
    }

    /** pg_controldata's wording of a DBState ("shut down", "in production", ...). */
    public static String dbStateName(int state) {
        return switch (state) {
            case DB_STARTUP -> "starting up";
            case DB_SHUTDOWNED -> "shut down";
            case DB_SHUTDOWNED_IN_RECOVERY -> "shut down in recovery";
            case DB_SHUTDOWNING -> "shutting down";
            case DB_IN_CRASH_RECOVERY -> "in crash recovery";
            case DB_IN_ARCHIVE_RECOVERY -> "in archive recovery";
            case DB_IN_PRODUCTION -> "in production";
            default -> "unrecognized status code";
        };
    }

    @Override
    public String toString() {
        return "ControlFile[systemIdentifier=" + Long.toUnsignedString(systemIdentifier)
                + ", state=" + dbStateName(state)
                + ", checkPoint=" + Lsn.format(checkPoint)
                + ", redo=" + Lsn.format(checkPointRedo)
                + ", timeline=" + Integer.toUnsignedString(checkPointTimeLineId)
                + ", minRecoveryPoint=" + Lsn.format(minRecoveryPoint)
                + ", minRecoveryPointTLI=" + Integer.toUnsignedString(minRecoveryPointTLI) + "]";
    }
}
