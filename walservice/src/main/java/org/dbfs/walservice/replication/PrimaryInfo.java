package org.dbfs.walservice.replication;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** What the WAL service must know about the primary before it streams: whose WAL, which timeline, what segment size. */
public record PrimaryInfo(long systemIdentifier, int timeline, int segmentSize, int serverVersionNum) {
    /** The only timeline this version follows; after a promotion the WAL service must be re-seeded. */
    public static final int SUPPORTED_TIMELINE = 1;

    public static PrimaryInfo query(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT (SELECT system_identifier FROM pg_control_system()),"
                        + " (SELECT timeline_id FROM pg_control_checkpoint()),"
                        + " (SELECT setting::int FROM pg_settings WHERE name = 'wal_segment_size'),"
                        + " current_setting('server_version_num')::int")) {
            rs.next();
            return new PrimaryInfo(rs.getLong(1), rs.getInt(2), rs.getInt(3), rs.getInt(4));
        }
    }

    /** @throws PrimaryRefusedException if this primary's WAL is not something this service follows */
    public void checkSupported() {
        if (timeline != SUPPORTED_TIMELINE) {
            throw new PrimaryRefusedException("the primary is on timeline " + timeline + "; this WAL service follows timeline "
                    + SUPPORTED_TIMELINE + " only (a promoted or restored cluster needs a fresh --data-dir and bucket prefix)");
        }
        if (serverVersionNum / 10000 != 15) {
            throw new PrimaryRefusedException("the primary runs PostgreSQL " + serverVersionNum + "; this WAL service supports 15");
        }
    }
}
