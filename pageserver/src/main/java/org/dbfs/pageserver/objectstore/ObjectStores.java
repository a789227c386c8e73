package org.dbfs.pageserver.objectstore;

/** Opens a bucket from its URL: file:///abs/dir (or a plain path), or s3://bucket/prefix. */
public final class ObjectStores {
    private ObjectStores() {}

    /**
     * @param bucketUrl  file:///abs/path, /abs/path, or s3://bucket[/prefix]
     * @param s3Endpoint endpoint URL for S3-compatible servers (path-style), or null for AWS
     */
    public static ObjectStore open(String bucketUrl, String s3Endpoint) {
        throw new UnsupportedOperationException("TODO");
    }
}
