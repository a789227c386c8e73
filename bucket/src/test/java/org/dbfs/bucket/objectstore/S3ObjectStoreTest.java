package org.dbfs.bucket.objectstore;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/** The contract against a real S3-compatible server (S3Proxy), plus S3-only behaviour. */
class S3ObjectStoreTest extends ObjectStoreContractTest {
    @TempDir
    static Path serverDir;

    private static S3ProxyServer server;
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    @BeforeAll
    static void startServer() throws Exception {
        server = S3ProxyServer.start(serverDir);
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /** Each test gets its own prefix in the shared bucket, which also exercises prefix handling. */
    @Override
    protected ObjectStore openStore() {
        return server.openStore("test-" + PREFIXES.incrementAndGet());
    }

    @Test
    void prefixesIsolateStoresInOneBucket() {
        try (ObjectStore a = server.openStore("tenant-a/"); ObjectStore b = server.openStore("tenant-b")) {
            a.put("k", "from a".getBytes(UTF_8));
            b.put("k", "from b".getBytes(UTF_8));
            assertArrayEquals("from a".getBytes(UTF_8), a.get("k"));
            assertEquals(List.of("k"), b.list(""));
            try (S3ObjectStoreRaw raw = new S3ObjectStoreRaw()) {
                assertTrue(raw.keys().containsAll(List.of("tenant-a/k", "tenant-b/k")), raw.keys().toString());
            }
        }
    }

    @Test
    void storeWithoutPrefixUsesKeysAsIs() {
        try (ObjectStore root = server.openStore("")) {
            root.put("rootlevel-key", "x".getBytes(UTF_8));
            try (S3ObjectStoreRaw raw = new S3ObjectStoreRaw()) {
                assertTrue(raw.keys().contains("rootlevel-key"), raw.keys().toString());
            }
            root.delete("rootlevel-key");
        }
    }

    @Test
    void openThroughObjectStoresUsesTheDefaultCredentialChain() {
        String[] props = {"aws.accessKeyId", "aws.secretAccessKey", "aws.region"};
        String[] saved = new String[props.length];
        for (int i = 0; i < props.length; i++) {
            saved[i] = System.getProperty(props[i]);
        }
        System.setProperty("aws.accessKeyId", server.accessKey());
        System.setProperty("aws.secretAccessKey", server.secretKey());
        System.setProperty("aws.region", "us-east-1");
        try (ObjectStore s = ObjectStores.open("s3://" + server.bucket() + "/via-open", server.endpoint())) {
            assertInstanceOf(S3ObjectStore.class, s);
            s.checkReachable();
            s.put("k", "v".getBytes(UTF_8));
            assertArrayEquals("v".getBytes(UTF_8), s.get("k"));
        } finally {
            for (int i = 0; i < props.length; i++) {
                if (saved[i] == null) {
                    System.clearProperty(props[i]);
                } else {
                    System.setProperty(props[i], saved[i]);
                }
            }
        }
    }

    @Test
    void missingBucketIsReportedAsUnavailable() {
        try (ObjectStore s = new S3ObjectStore("s3://no-such-bucket-here/p", server.endpoint(),
                server.credentials(), S3ProxyServer.REGION)) {
            ObjectStoreUnavailableException e = assertThrows(ObjectStoreUnavailableException.class, s::checkReachable);
            assertTrue(e.getMessage().contains("bucket does not exist"), e.getMessage());
            assertTrue(e.getMessage().contains("no-such-bucket-here"), e.getMessage());
        }
    }

    @Test
    void wrongCredentialsAreReportedAsUnavailable() {
        try (ObjectStore s = new S3ObjectStore("s3://" + server.bucket(), server.endpoint(),
                StaticCredentialsProvider.create(AwsBasicCredentials.create("wrong", "wrong-secret")),
                S3ProxyServer.REGION)) {
            ObjectStoreUnavailableException e = assertThrows(ObjectStoreUnavailableException.class, s::checkReachable);
            assertTrue(e.getMessage().contains("access denied"), e.getMessage());
            assertTrue(e.getMessage().contains("endpoint=" + server.endpoint()), e.getMessage());
        }
    }

    /** Lists the whole bucket with a plain SDK client, to see the keys the store really wrote. */
    private static final class S3ObjectStoreRaw implements AutoCloseable {
        private final software.amazon.awssdk.services.s3.S3Client client = server.client();

        List<String> keys() {
            return client.listObjectsV2Paginator(b -> b.bucket(server.bucket())).contents().stream()
                    .map(software.amazon.awssdk.services.s3.model.S3Object::key)
                    .toList();
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
