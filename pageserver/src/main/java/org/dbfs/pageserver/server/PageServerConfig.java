package org.dbfs.pageserver.server;

import java.nio.file.Path;
import java.time.Duration;
import org.dbfs.pageserver.store.StoreOptions;

/**
 * What a page server needs to start.
 *
 * @param bucketUrl  file:///dir, a plain path, or s3://bucket/prefix
 * @param s3Endpoint endpoint of an S3-compatible server, or null for AWS
 * @param listenHost address to listen on
 * @param port       port to listen on; 0 picks a free one
 * @param getPage    where GetPage@LSN reads WAL, or null to serve without it
 * @param localSocket a Unix-domain socket to serve the same API on for a mount on this machine, or null
 * @param branch     this page server serves a branch of another's cluster, or null
 */
public record PageServerConfig(String bucketUrl, String s3Endpoint, String listenHost, int port,
                               char[] passphrase, StoreOptions storeOptions, GetPageOptions getPage, Path localSocket,
                               BranchOptions branch) {

    /**
     * A branch's page server (docs/branches.md).
     *
     * @param parentPageServer HOST:PORT of the parent's page server, which serves every page the branch has not written
     * @param name             the branch's name there
     */
    public record BranchOptions(String parentPageServer, String name) {}

    public PageServerConfig(String bucketUrl, String s3Endpoint, String listenHost, int port, char[] passphrase,
                            StoreOptions storeOptions, GetPageOptions getPage, Path localSocket) {
        this(bucketUrl, s3Endpoint, listenHost, port, passphrase, storeOptions, getPage, localSocket, null);
    }

    /**
     * GetPage@LSN settings.
     *
     * @param walService     HOST:PORT of the WAL service that streams this cluster's WAL
     * @param hintBitsLogged the cluster runs with data checksums or wal_log_hints = on
     * @param cachedPages    materialized pages kept in memory
     * @param cachedWalPages 8 KB WAL pages kept in memory
     * @param snapshotCheck  how often to look for a new checkpoint to take a data-directory snapshot after
     */
    public record GetPageOptions(String walService, boolean hintBitsLogged, long cachedPages, long cachedWalPages,
                                 Duration snapshotCheck) {
        public static final Duration DEFAULT_SNAPSHOT_CHECK = Duration.ofSeconds(10);

        public static GetPageOptions of(String walService, boolean hintBitsLogged) {
            return new GetPageOptions(walService, hintBitsLogged, 16_384, 8_192, DEFAULT_SNAPSHOT_CHECK);
        }

        public GetPageOptions withSnapshotCheck(Duration every) {
            return new GetPageOptions(walService, hintBitsLogged, cachedPages, cachedWalPages, every);
        }
    }

    public static PageServerConfig of(String bucketUrl, Path cacheDir, char[] passphrase) {
        return new PageServerConfig(bucketUrl, null, "127.0.0.1", 0, passphrase, StoreOptions.defaults(cacheDir), null, null, null);
    }

    public PageServerConfig withS3Endpoint(String endpoint) {
        return new PageServerConfig(bucketUrl, endpoint, listenHost, port, passphrase, storeOptions, getPage, localSocket, branch);
    }

    public PageServerConfig withListen(String host, int listenPort) {
        return new PageServerConfig(bucketUrl, s3Endpoint, host, listenPort, passphrase, storeOptions, getPage, localSocket, branch);
    }

    public PageServerConfig withPacking(long bytes, Duration interval) {
        return new PageServerConfig(bucketUrl, s3Endpoint, listenHost, port, passphrase,
                storeOptions.withPacking(bytes, interval), getPage, localSocket, branch);
    }

    public PageServerConfig withLocalSocket(Path socket) {
        return new PageServerConfig(bucketUrl, s3Endpoint, listenHost, port, passphrase, storeOptions, getPage, socket, branch);
    }

    public PageServerConfig withBranch(BranchOptions options) {
        return new PageServerConfig(bucketUrl, s3Endpoint, listenHost, port, passphrase, storeOptions, getPage, localSocket,
                options);
    }

    public PageServerConfig withGetPage(GetPageOptions options) {
        return new PageServerConfig(bucketUrl, s3Endpoint, listenHost, port, passphrase, storeOptions, options, localSocket, branch);
    }
}
