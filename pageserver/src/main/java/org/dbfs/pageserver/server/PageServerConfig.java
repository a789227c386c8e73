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
 */
public record PageServerConfig(String bucketUrl, String s3Endpoint, String listenHost, int port,
                               char[] passphrase, StoreOptions storeOptions) {

    public static PageServerConfig of(String bucketUrl, Path cacheDir, char[] passphrase) {
        return new PageServerConfig(bucketUrl, null, "127.0.0.1", 0, passphrase, StoreOptions.defaults(cacheDir));
    }

    public PageServerConfig withS3Endpoint(String endpoint) {
        return new PageServerConfig(bucketUrl, endpoint, listenHost, port, passphrase, storeOptions);
    }

    public PageServerConfig withListen(String host, int listenPort) {
        return new PageServerConfig(bucketUrl, s3Endpoint, host, listenPort, passphrase, storeOptions);
    }

    public PageServerConfig withPacking(long bytes, Duration interval) {
        return new PageServerConfig(bucketUrl, s3Endpoint, listenHost, port, passphrase,
                storeOptions.withPacking(bytes, interval));
    }
}
