package org.dbfs.walservice.replication;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** What the WAL service must know about the primary before it streams: whose WAL, which timeline, what segment size. */
public record PrimaryInfo(long systemIdentifier, int timeline, int segmentSize, int serverVersionNum) {

    public static PrimaryInfo query(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT (SELECT system_identifier FROM pg_control_system()),"
                        + " ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int,"
                        + " (SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size'),"
                        + " current_setting('server_version_num')::int")) {
            rs.next();
            return new PrimaryInfo(rs.getLong(1), rs.getInt(2), rs.getInt(3), rs.getInt(4));
        }
    }

    /** @throws PrimaryRefusedException if this primary's WAL is not something this service follows */
    public void checkSupported() {
        if (serverVersionNum / 10000 != 15) {
            throw new PrimaryRefusedException("the primary runs PostgreSQL " + serverVersionNum + "; this WAL service supports 15");
        }
    }
}
