package org.dbfs.walservice.replication;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.dbfs.pgformat.wal.Lsn;

/** The WAL service's own physical replication slot: it keeps the primary from removing WAL the service has not made durable. */
public final class ReplicationSlots {
    private ReplicationSlots() {}

    /**
     * Creates the physical slot with its WAL reserved now ({@code RESERVE_WAL}, through
     * {@code pg_create_physical_replication_slot(name, immediately_reserve => true)}) if it is
     * missing; returns its restart_lsn.
     */
    public static long ensure(Connection c, String slot) throws SQLException {
        Long restart = restartLsn(c, slot);
        if (restart == null) {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)")) {
                ps.setString(1, slot);
                ps.execute();
            } catch (SQLException e) {
                if (!"42710".equals(e.getSQLState())) { // duplicate_object: another start raced us; fine
                    throw e;
                }
            }
            restart = restartLsn(c, slot);
        }
        if (restart == null) {
            throw new SQLException("replication slot " + slot + " has no restart_lsn after creation");
        }
        return restart;
    }

    private static Long restartLsn(Connection c, String slot) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT slot_type, restart_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                if (!"physical".equals(rs.getString(1))) {
                    throw new PrimaryRefusedException("replication slot " + slot + " exists but is " + rs.getString(1)
                            + "; give --slot a name that is free or a physical slot");
                }
                String lsn = rs.getString(2);
                return lsn == null ? null : Lsn.parse(lsn);
            }
        }
    }
}
