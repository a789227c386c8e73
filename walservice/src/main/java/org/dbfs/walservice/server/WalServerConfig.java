package org.dbfs.walservice.server;

import java.nio.file.Path;
import org.dbfs.walservice.index.RecordIndexer;
import org.dbfs.walservice.replication.PrimaryConnInfo;

/**
 * Everything a {@link WalServer} needs.
 *
 * @param indexer opens the WAL record decoder that feeds the per-page index
 *                ({@code DecodingRecordIndexer::open}), or null to leave indexing off
 */
public record WalServerConfig(PrimaryConnInfo primary, String slot, String bucketUrl, String s3Endpoint,
        char[] passphrase, String listenHost, int port, Path dataDir, RecordIndexer.Factory indexer) {

    public WalServerConfig {
        if (slot == null || !slot.matches("[a-z0-9_]{1,63}")) {
            throw new IllegalArgumentException("--slot must be 1-63 characters of a-z, 0-9 and _ (PostgreSQL's rule"
                    + " for replication slot names): slot=" + slot);
        }
    }
}
