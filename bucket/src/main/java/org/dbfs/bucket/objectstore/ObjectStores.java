package org.dbfs.bucket.objectstore;

import java.net.URI;
import java.nio.file.Path;

/** Opens a bucket from its URL: file:///abs/dir (or a plain path), or s3://bucket/prefix. */
public final class ObjectStores {
    private ObjectStores() {}

    /**
     * @param bucketUrl  file:///abs/path, /abs/path, or s3://bucket[/prefix]
     * @param s3Endpoint endpoint URL for S3-compatible servers (path-style), or null for AWS
     */
    public static ObjectStore open(String bucketUrl, String s3Endpoint) {
        if (bucketUrl == null || bucketUrl.isBlank()) {
            throw new IllegalArgumentException(
                    "bucket URL is empty; give file:///abs/dir, a directory path, or s3://bucket[/prefix]");
        }
        if (bucketUrl.startsWith("s3://")) {
            return S3ObjectStore.open(bucketUrl, s3Endpoint);
        }
        if (bucketUrl.startsWith("file:")) {
            URI uri;
            try {
                uri = URI.create(bucketUrl);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("malformed file URL: bucket=" + bucketUrl
                        + "; use file:///absolute/path (percent-encode spaces) or a plain path", e);
            }
            if (uri.getAuthority() != null && !uri.getAuthority().isEmpty() && !"localhost".equals(uri.getAuthority())) {
                throw new IllegalArgumentException("file URL names a remote host: bucket=" + bucketUrl
                        + "; use file:///absolute/path with three slashes");
            }
            if (uri.getPath() == null || !uri.getPath().startsWith("/")) {
                throw new IllegalArgumentException("file URL must hold an absolute path: bucket=" + bucketUrl
                        + "; use file:///absolute/path");
            }
            return new LocalObjectStore(Path.of(uri.getPath()));
        }
        int colon = bucketUrl.indexOf(':');
        int slash = bucketUrl.indexOf('/');
        if (colon > 1 && (slash < 0 || colon < slash)) {
            // Looks like scheme:..., not a path; a one-letter "scheme" would be a Windows drive.
            throw new IllegalArgumentException("unsupported bucket URL scheme: bucket=" + bucketUrl
                    + "; supported are file:///abs/dir, a plain directory path, and s3://bucket[/prefix]"
                    + " (with --s3-endpoint for S3-compatible servers)");
        }
        return new LocalObjectStore(Path.of(bucketUrl));
    }
}
