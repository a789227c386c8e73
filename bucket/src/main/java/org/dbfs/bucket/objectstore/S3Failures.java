package org.dbfs.bucket.objectstore;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Turns AWS SDK exceptions into the store's exception types, with messages that name the bucket and
 * endpoint and say what to check. Kept apart from {@link S3ObjectStore} so the mapping rules can be
 * read in one place.
 */
final class S3Failures {
    private final String bucketUrl;
    private final String endpoint;

    S3Failures(String bucketUrl, String endpoint) {
        this.bucketUrl = bucketUrl;
        this.endpoint = endpoint;
    }

    /** @param key the object key (or list prefix) involved, or null for bucket-level calls */
    ObjectStoreException map(String op, String key, SdkException e) {
        String where = "op=" + op + (key == null ? "" : " key=" + key) + " bucket=" + bucketUrl + " endpoint=" + endpoint;
        if (e instanceof S3Exception s3) {
            return mapService(where, s3);
        }
        if (e instanceof SdkClientException || e instanceof ApiCallTimeoutException) {
            return mapClient(where, e);
        }
        return new ObjectStoreException("S3 request failed: " + where + " (" + e.getMessage() + ")", e);
    }

    private ObjectStoreException mapService(String where, S3Exception e) {
        int status = e.statusCode();
        String code = errorCode(e);
        String detail = " (status=" + status + " code=" + code + " requestId=" + e.requestId() + ")";
        if (status == 412 || (status == 409 && "ConditionalRequestConflict".equals(code))) {
            return new PreconditionFailedException("conditional write lost: " + where + detail
                    + "; another writer changed the object first, re-read it and decide again", e);
        }
        if ("NoSuchBucket".equals(code)) {
            return new ObjectStoreUnavailableException("bucket does not exist: " + where + detail
                    + "; create the bucket or fix the bucket URL", e);
        }
        if (status == 404) {
            return new ObjectNotFoundException("object not found: " + where + detail, e);
        }
        if (status == 403 || status == 401) {
            return new ObjectStoreUnavailableException("access denied: " + where + detail
                    + "; check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE"
                    + " or instance role) and that they may read, write, list and delete in this bucket", e);
        }
        if (status == 301 || "PermanentRedirect".equals(code) || "AuthorizationHeaderMalformed".equals(code)) {
            return new ObjectStoreUnavailableException("bucket is in another region: " + where + detail
                    + "; set AWS_REGION (or aws.region) to the bucket's region", e);
        }
        if (status >= 500) {
            return new ObjectStoreUnavailableException("S3 server error: " + where + detail
                    + "; the server is failing or overloaded, check its health and retry", e);
        }
        return new ObjectStoreException("S3 request rejected: " + where + detail + ": " + e.getMessage(), e);
    }

    private ObjectStoreException mapClient(String where, SdkException e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("Unable to load credentials")) {
            return new ObjectStoreUnavailableException("no AWS credentials found: " + where
                    + "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance role", e);
        }
        String cause = networkCause(e);
        return new ObjectStoreUnavailableException("cannot reach S3: " + where + " (" + (cause != null ? cause : message)
                + "); check that the S3 server is running, the endpoint URL and port are right,"
                + " and DNS/firewall allow the connection", e);
    }

    /** The first network-level cause, described briefly, or null if the failure is not a network one. */
    private static String networkCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return "connection refused: " + t.getMessage();
            }
            if (t instanceof UnknownHostException) {
                return "unknown host: " + t.getMessage();
            }
            if (t instanceof NoRouteToHostException) {
                return "no route to host: " + t.getMessage();
            }
            if (t instanceof SocketTimeoutException || t instanceof ApiCallAttemptTimeoutException
                    || t instanceof ApiCallTimeoutException) {
                return "timed out: " + t.getMessage();
            }
            if (t.getClass().getName().endsWith("ConnectTimeoutException")) {
                return "connect timed out: " + t.getMessage();
            }
        }
        return null;
    }

    private static String errorCode(S3Exception e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }
}
