package org.dbfs.bucket.objectstore;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.AwsProfileRegionProvider;
import software.amazon.awssdk.regions.providers.AwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.regions.providers.SystemSettingsRegionProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A bucket in Amazon S3 or an S3-compatible server (MinIO, Ceph, S3Proxy, ...).
 *
 * <p>Conditional writes map onto S3's own: {@code If-None-Match: *} for create-if-absent and
 * {@code If-Match} for compare-and-swap, so their atomicity is the server's. ETags are kept without
 * the surrounding quotes S3 sends. Timeouts and retries are deliberately small: a misconfigured
 * endpoint must fail start-up in seconds with a message, not hang.
 */
public final class S3ObjectStore implements ObjectStore {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(30);
    // Generous for multi-megabyte segment uploads; reachability checks use a much shorter bound.
    private static final Duration API_CALL_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration REACHABLE_TIMEOUT = Duration.ofSeconds(12);
    private static final int MAX_ATTEMPTS = 3;

    private final S3Client s3;
    private final String bucket;
    private final String keyPrefix;
    private final String bucketUrl;
    private final S3Failures failures;

    /**
     * Opens {@code s3://bucket[/prefix]} with credentials and region from the default AWS provider
     * chains (region falls back to us-east-1).
     *
     * @param endpoint endpoint URL of an S3-compatible server (path-style addressing), or null for AWS
     */
    public static S3ObjectStore open(String bucketUrl, String endpoint) {
        return new S3ObjectStore(bucketUrl, endpoint, DefaultCredentialsProvider.builder().build(), null);
    }

    /** For tests: explicit credentials and optionally region, bypassing the default chains. */
    S3ObjectStore(String bucketUrl, String endpoint, AwsCredentialsProvider credentials, Region region) {
        if (!bucketUrl.startsWith("s3://")) {
            throw new IllegalArgumentException("not an S3 bucket URL, expected s3://bucket[/prefix]: url=" + bucketUrl);
        }
        String rest = bucketUrl.substring("s3://".length());
        int slash = rest.indexOf('/');
        this.bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (bucket.isEmpty()) {
            throw new IllegalArgumentException("S3 bucket URL has no bucket name, expected s3://bucket[/prefix]: url=" + bucketUrl);
        }
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix += "/";
        }
        this.keyPrefix = prefix;
        this.bucketUrl = "s3://" + bucket + "/" + keyPrefix;
        URI endpointUri = endpoint == null ? null : parseEndpoint(endpoint);
        this.failures = new S3Failures(this.bucketUrl, endpoint == null ? "aws" : endpoint);
        this.s3 = buildClient(endpointUri, credentials, region != null ? region : resolveRegion(endpointUri != null));
    }

    private static S3Client buildClient(URI endpoint, AwsCredentialsProvider credentials, Region region) {
        S3ClientBuilder builder = S3Client.builder()
                .credentialsProvider(credentials)
                .region(region)
                .httpClientBuilder(ApacheHttpClient.builder()
                        .connectionTimeout(CONNECT_TIMEOUT)
                        .connectionAcquisitionTimeout(CONNECT_TIMEOUT)
                        .socketTimeout(SOCKET_TIMEOUT))
                .overrideConfiguration(o -> o
                        .apiCallTimeout(API_CALL_TIMEOUT)
                        .retryStrategy(r -> r.maxAttempts(MAX_ATTEMPTS)));
        if (endpoint != null) {
            // S3-compatible servers rarely have wildcard DNS for virtual hosts, and many reject the
            // SDK's default trailing CRC checksums; send checksums only where the API demands them.
            builder.endpointOverride(endpoint)
                    .forcePathStyle(true)
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        return builder.build();
    }

    /**
     * With a custom endpoint the region only feeds the signature, so skip the EC2 metadata lookup
     * (seconds of timeouts off EC2) and use env/system properties/profile only.
     */
    private static Region resolveRegion(boolean customEndpoint) {
        AwsRegionProviderChain chain = customEndpoint
                ? new AwsRegionProviderChain(new SystemSettingsRegionProvider(), new AwsProfileRegionProvider())
                : DefaultAwsRegionProviderChain.builder().build();
        try {
            return chain.getRegion();
        } catch (SdkClientException e) {
            return Region.US_EAST_1;
        }
    }

    private static URI parseEndpoint(String endpoint) {
        URI uri;
        try {
            uri = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("S3 endpoint is not a URL, expected http(s)://host[:port]: endpoint=" + endpoint, e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("S3 endpoint must be http(s)://host[:port]: endpoint=" + endpoint);
        }
        return uri;
    }

    @Override
    public String describe() {
        return bucketUrl;
    }

    @Override
    public void checkReachable() {
        try {
            // Listing (rather than HeadBucket) also proves list permission and returns error codes in a body.
            s3.listObjectsV2(ListObjectsV2Request.builder()
                    .bucket(bucket)
                    .prefix(keyPrefix)
                    .maxKeys(1)
                    .overrideConfiguration(o -> o.apiCallTimeout(REACHABLE_TIMEOUT))
                    .build());
        } catch (SdkException e) {
            ObjectStoreException mapped = failures.map("checkReachable", null, e);
            throw mapped instanceof ObjectStoreUnavailableException
                    ? mapped
                    : new ObjectStoreUnavailableException(mapped.getMessage(), e);
        }
    }

    @Override
    public byte[] get(String key) {
        String fullKey = fullKey(key);
        try {
            return s3.getObjectAsBytes(b -> b.bucket(bucket).key(fullKey)).asByteArray();
        } catch (SdkException e) {
            throw failures.map("get", key, e);
        }
    }

    @Override
    public byte[] getRange(String key, long offset, int length) {
        String fullKey = fullKey(key);
        ObjectKeys.requireValidRange(key, offset, length);
        if (length == 0) {
            if (stat(key).isEmpty()) {
                throw new ObjectNotFoundException("object not found: key=" + key + " bucket=" + bucketUrl);
            }
            return new byte[0];
        }
        GetObjectRequest request = GetObjectRequest.builder()
                .bucket(bucket)
                .key(fullKey)
                .range("bytes=" + offset + "-" + (offset + length - 1))
                .build();
        try {
            ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(request);
            byte[] data = bytes.asByteArray();
            if (bytes.response().contentRange() == null) {
                // The server ignored the Range header and sent the whole object; cut it ourselves.
                return slice(data, offset, length);
            }
            return data;
        } catch (S3Exception e) {
            if (e.statusCode() == 416) {
                return new byte[0]; // the object exists but ends before offset
            }
            throw failures.map("getRange", key, e);
        } catch (SdkException e) {
            throw failures.map("getRange", key, e);
        }
    }

    @Override
    public Optional<VersionedObject> getVersioned(String key) {
        String fullKey = fullKey(key);
        try {
            ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(fullKey));
            return Optional.of(new VersionedObject(bytes.asByteArray(), unquote(bytes.response().eTag())));
        } catch (SdkException e) {
            ObjectStoreException mapped = failures.map("getVersioned", key, e);
            if (mapped instanceof ObjectNotFoundException) {
                return Optional.empty();
            }
            throw mapped;
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        String fullKey = fullKey(key);
        try {
            HeadObjectResponse head = s3.headObject(b -> b.bucket(bucket).key(fullKey));
            return Optional.of(new ObjectInfo(head.contentLength(), unquote(head.eTag())));
        } catch (SdkException e) {
            // HEAD responses carry no error body, so a missing bucket also looks like a missing
            // object here; checkReachable() at start-up is what reports the bucket.
            ObjectStoreException mapped = failures.map("stat", key, e);
            if (mapped instanceof ObjectNotFoundException) {
                return Optional.empty();
            }
            throw mapped;
        }
    }

    @Override
    public String put(String key, byte[] data) {
        return write("put", key, data, PutObjectRequest.builder());
    }

    @Override
    public String putIfAbsent(String key, byte[] data) {
        return conditionalWrite("putIfAbsent", key, data, PutObjectRequest.builder().ifNoneMatch("*"));
    }

    @Override
    public String putIfMatch(String key, byte[] data, String expectedEtag) {
        if (expectedEtag == null || expectedEtag.isEmpty()) {
            throw new IllegalArgumentException("putIfMatch needs the expected ETag: key=" + key);
        }
        try {
            return conditionalWrite("putIfMatch", key, data, PutObjectRequest.builder().ifMatch(quote(expectedEtag)));
        } catch (ObjectNotFoundException e) {
            // AWS answers If-Match on a missing key with 404; to callers that is just a lost race.
            throw new PreconditionFailedException("object does not exist, expected etag=" + expectedEtag
                    + ": key=" + key + " bucket=" + bucketUrl + "; it was deleted, re-read and decide again", e);
        }
    }

    /**
     * A conditional write whose answer was lost (a 500, a reset connection, a timeout after the
     * server stored the object) is retried by the SDK, and the retry then fails its precondition
     * on the first attempt's own object. Taken as a lost race, that would make a page server fence
     * itself over a write that won. So a failed precondition is checked: if the object now holds
     * exactly these bytes, the write was ours and succeeded (every conditional object, manifest or
     * lease, names its writer and generation, so another writer's bytes differ).
     */
    private String conditionalWrite(String op, String key, byte[] data, PutObjectRequest.Builder request) {
        try {
            return write(op, key, data, request);
        } catch (PreconditionFailedException lost) {
            Optional<VersionedObject> now = getVersioned(key);
            if (now.isPresent() && Arrays.equals(now.get().data(), data)) {
                return now.get().etag();
            }
            throw lost;
        }
    }

    private String write(String op, String key, byte[] data, PutObjectRequest.Builder request) {
        String fullKey = fullKey(key);
        try {
            String etag = s3.putObject(request.bucket(bucket).key(fullKey).build(), RequestBody.fromBytes(data)).eTag();
            if (etag == null) {
                throw new ObjectStoreException("S3 server returned no ETag for a write: op=" + op + " key=" + key
                        + " bucket=" + bucketUrl + "; the server is not S3-compatible enough for DbFS");
            }
            return unquote(etag);
        } catch (SdkException e) {
            throw failures.map(op, key, e);
        }
    }

    @Override
    public List<String> list(String prefix) {
        ObjectKeys.requireValidPrefix(prefix);
        List<String> keys = new ArrayList<>();
        try {
            ListObjectsV2Request request = ListObjectsV2Request.builder()
                    .bucket(bucket)
                    .prefix(keyPrefix + prefix)
                    .build();
            for (S3Object object : s3.listObjectsV2Paginator(request).contents()) {
                keys.add(object.key().substring(keyPrefix.length()));
            }
        } catch (SdkException e) {
            throw failures.map("list", prefix, e);
        }
        // S3 orders by UTF-8 bytes; sort so callers see the same order as from the local store.
        Collections.sort(keys);
        return keys;
    }

    @Override
    public void delete(String key) {
        String fullKey = fullKey(key);
        try {
            s3.deleteObject(b -> b.bucket(bucket).key(fullKey));
        } catch (SdkException e) {
            ObjectStoreException mapped = failures.map("delete", key, e);
            if (!(mapped instanceof ObjectNotFoundException)) {
                throw mapped;
            }
        }
    }

    @Override
    public void close() {
        s3.close();
    }

    @Override
    public String toString() {
        return "S3ObjectStore[" + bucketUrl + "]";
    }

    private String fullKey(String key) {
        return keyPrefix + ObjectKeys.requireValid(key);
    }

    private static byte[] slice(byte[] data, long offset, int length) {
        if (offset >= data.length) {
            return new byte[0];
        }
        int from = (int) offset;
        return Arrays.copyOfRange(data, from, (int) Math.min(data.length, offset + length));
    }

    static String unquote(String etag) {
        if (etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")) {
            return etag.substring(1, etag.length() - 1);
        }
        return etag;
    }

    private static String quote(String etag) {
        return "\"" + unquote(etag) + "\"";
    }
}
