package org.dbfs.bucket.objectstore;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** URL dispatch, and failure reporting for stores that cannot be reached. */
class ObjectStoresTest {
    @TempDir
    Path dir;

    @Test
    void fileUrlAndPlainPathOpenTheSameLocalBucket() {
        Path bucket = dir.resolve("nested/bucket");
        try (ObjectStore viaUrl = ObjectStores.open(bucket.toUri().toString(), null);
                ObjectStore viaPath = ObjectStores.open(bucket.toString(), null)) {
            assertInstanceOf(LocalObjectStore.class, viaUrl);
            assertTrue(Files.isDirectory(bucket), "bucket directory is created");
            viaUrl.put("k", "v".getBytes(UTF_8));
            assertArrayEquals("v".getBytes(UTF_8), viaPath.get("k"));
        }
    }

    @Test
    void unsupportedSchemesAreRejectedWithTheSupportedList() {
        for (String url : new String[] {"gs://bucket/x", "http://host/bucket", "azure:container"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ObjectStores.open(url, null));
            assertTrue(e.getMessage().contains("bucket=" + url) && e.getMessage().contains("s3://bucket"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ObjectStores.open("file://otherhost/x", null));
        assertThrows(IllegalArgumentException.class, () -> ObjectStores.open("s3:///prefix-without-bucket", null));
        assertThrows(IllegalArgumentException.class, () -> ObjectStores.open("", null));
    }

    @Test
    void unreachableS3EndpointFailsFastWithTheEndpointInTheMessage() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort(); // closed again: nothing listens there now
        }
        String endpoint = "http://127.0.0.1:" + port;
        ObjectStoreUnavailableException e = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (ObjectStore s = new S3ObjectStore("s3://some-bucket/p", endpoint,
                    software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                            software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("a", "b")),
                    null)) {
                return assertThrows(ObjectStoreUnavailableException.class, s::checkReachable);
            }
        });
        assertTrue(e.getMessage().contains("endpoint=" + endpoint), e.getMessage());
        assertTrue(e.getMessage().contains("s3://some-bucket/p/"), e.getMessage());
        assertTrue(e.getMessage().contains("check that the S3 server is running"), e.getMessage());
    }

    @Test
    void localBucketUnderARegularFileFailsClearly() throws Exception {
        Path file = Files.writeString(dir.resolve("file"), "x");
        ObjectStoreException e = assertThrows(ObjectStoreException.class,
                () -> ObjectStores.open("file://" + file + "/bucket", null));
        assertTrue(e.getMessage().contains("path=" + file.resolve("bucket")), e.getMessage());
    }
}
