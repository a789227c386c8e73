package org.dbfs.pgformat;

import org.dbfs.pgformat.wal.Lsn;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * pg15-initdb is global/pg_control of a PostgreSQL 15.15 cluster after initdb, a start, a CREATE
 * TABLE, a CHECKPOINT and a clean stop. The expected values are what pg_controldata printed for it.
 */
class ControlFileTest {

    private static byte[] initdbFile() throws IOException {
        try (InputStream in = ControlFileTest.class.getResourceAsStream("/pg_control/pg15-initdb")) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsWhatPgControldataPrints() throws IOException {
        byte[] file = initdbFile();
        assertEquals(ControlFile.PG_CONTROL_FILE_SIZE, file.length);
        ControlFile cf = ControlFile.parse(file);
        assertEquals("7716103194146079513", Long.toUnsignedString(cf.systemIdentifier()));
        assertEquals(ControlFile.DB_SHUTDOWNED, cf.state());
        assertEquals("shut down", ControlFile.dbStateName(cf.state()));
        assertEquals(Lsn.parse("0/15B3360"), cf.checkPoint());
        assertEquals(Lsn.parse("0/15B3360"), cf.checkPointRedo());
        assertEquals(1, cf.checkPointTimeLineId());
        assertEquals(Lsn.parse("0/0"), cf.minRecoveryPoint());
        assertEquals(0, cf.minRecoveryPointTLI());
        assertEquals(Lsn.parse("0/0"), cf.backupStartPoint());
        assertEquals(Lsn.parse("0/0"), cf.backupEndPoint());
        assertFalse(cf.backupEndRequired());
        assertEquals(16777216, cf.xlogSegSize());
        assertEquals(0, cf.dataChecksumVersion());
    }

    @Test
    void withMinRecoveryPointChangesOnlyThoseFieldsAndTheCrc() throws IOException {
        byte[] file = initdbFile();
        byte[] patched = ControlFile.withMinRecoveryPoint(file, Lsn.parse("1A/2B3C4D58"), 7);

        ControlFile cf = ControlFile.parse(patched);
        assertEquals(Lsn.parse("1A/2B3C4D58"), cf.minRecoveryPoint());
        assertEquals(7, cf.minRecoveryPointTLI());
        assertEquals(ControlFile.parse(file).checkPoint(), cf.checkPoint());
        assertEquals(ControlFile.PG_CONTROL_FILE_SIZE, patched.length);
        assertEquals(0, ControlFile.parse(file).minRecoveryPoint(), "the input is not modified");

        for (int i = 0; i < file.length; i++) {
            boolean mayChange = (i >= ControlFile.MIN_RECOVERY_POINT_OFFSET && i < ControlFile.MIN_RECOVERY_POINT_TLI_OFFSET + 4)
                    || (i >= ControlFile.CRC_OFFSET && i < ControlFile.CRC_OFFSET + 4);
            if (!mayChange) {
                assertEquals(file[i], patched[i], "byte " + i);
            }
        }
        // pg_controldata 15 accepted exactly this file without a CRC warning and printed
        // "Minimum recovery ending location: 1A/2B3C4D58", "Min recovery ending loc's timeline: 7".
        byte[] crcAcceptedByPgControldata = {0x45, (byte) 0xC9, (byte) 0xAA, 0x59};
        assertArrayEquals(crcAcceptedByPgControldata,
                Arrays.copyOfRange(patched, ControlFile.CRC_OFFSET, ControlFile.CRC_OFFSET + 4));

        byte[] back = ControlFile.withMinRecoveryPoint(patched, 0, 0);
        assertArrayEquals(file, back, "resetting the fields restores the original file and CRC");
    }

    @Test
    void everyFlippedByteBeforeTheCrcFailsIt() throws IOException {
        byte[] file = initdbFile();
        for (int i = 0; i < ControlFile.CRC_OFFSET + 4; i++) {
            if (i >= ControlFile.PG_CONTROL_VERSION_OFFSET && i < ControlFile.PG_CONTROL_VERSION_OFFSET + 4) {
                continue; // reported as another version, tested below
            }
            byte[] bad = file.clone();
            bad[i] ^= 0x01;
            ControlFileException e = assertThrows(ControlFileException.class, () -> ControlFile.parse(bad), "byte " + i);
            assertTrue(e.getMessage().startsWith("incorrect checksum in pg_control"), e.getMessage());
        }
    }

    @Test
    void bytesAfterTheCrcAreNotCovered() throws IOException {
        byte[] file = initdbFile();
        // Struct padding after crc and the zero tail up to 8192: PostgreSQL never checks them either.
        file[ControlFile.CRC_OFFSET + 4] = 1;
        file[ControlFile.PG_CONTROL_FILE_SIZE - 1] = 1;
        ControlFile.parse(file);
    }

    @Test
    void refusesAnotherPgControlVersion() throws IOException {
        byte[] file = initdbFile();
        file[ControlFile.PG_CONTROL_VERSION_OFFSET] = (byte) 0xA4; // 1700 = 0x06A4
        file[ControlFile.PG_CONTROL_VERSION_OFFSET + 1] = 0x06;
        ControlFileException e = assertThrows(ControlFileException.class, () -> ControlFile.parse(file));
        assertEquals("pg_control version 1700, expected 1300 (PostgreSQL 15)", e.getMessage());
    }

    @Test
    void refusesAShortFile() throws IOException {
        byte[] file = Arrays.copyOf(initdbFile(), ControlFile.SIZEOF_CONTROL_FILE_DATA - 1);
        ControlFileException e = assertThrows(ControlFileException.class, () -> ControlFile.parse(file));
        assertTrue(e.getMessage().startsWith("pg_control too short: length=295"), e.getMessage());
        ControlFile.parse(Arrays.copyOf(initdbFile(), ControlFile.SIZEOF_CONTROL_FILE_DATA));
    }

    @Test
    void doesNotGiveADamagedFileAFreshCrc() throws IOException {
        byte[] bad = initdbFile();
        bad[0] ^= 0x01;
        assertThrows(ControlFileException.class, () -> ControlFile.withMinRecoveryPoint(bad, 1, 1));
    }
}
