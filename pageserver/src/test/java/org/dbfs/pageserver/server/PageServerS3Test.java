package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.dbfs.bucket.objectstore.S3ProxyServer;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.PageImage;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.PageWrite;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.dbfs.protocol.pageserver.v1.ReadFileRequest;
import org.dbfs.protocol.pageserver.v1.RelTag;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page server on a real S3-compatible server (S3Proxy on 127.0.0.1). */
class PageServerS3Test {
    static final RelTag REL = RelTag.newBuilder().setSpcNode(1663).setDbNode(5).setRelNode(24576).build();
    static final PageRef PAGE = PageRef.newBuilder().setRel(REL).setBlockNum(3).build();

    @TempDir
    Path tmp;

    static byte[] page(long lsn, String text) {
        byte[] p = new byte[8192];
        java.nio.ByteBuffer.wrap(p).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, (int) (lsn >>> 32)).putInt(4, (int) lsn);
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(t, 0, p, 200, t.length);
        return p;
    }

    static PageImage read(PageServerGrpc.PageServerBlockingStub client, long asOf) {
        return client.getPages(GetPagesRequest.newBuilder().addPages(PAGE).setAsOfLsn(asOf).build()).getPages(0);
    }

    @Test
    void pagesFilesAndTreeRoundTripThroughACleanStopAndAnEmptyCache() throws Exception {
        String marker = "S3-PLAINTEXT-MARKER-" + System.nanoTime();
        try (S3ProxyServer s3 = S3ProxyServer.start(tmp.resolve("s3"))) {
            Map<String, String> env = Map.of("DBFS_PASSPHRASE", "s3 passphrase",
                    "AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY,
                    "AWS_REGION", "us-east-1");
            String bucket = "s3://" + s3.bucket() + "/cluster-a";
            try (PageServerProcess ps = PageServerProcess.start(List.of("--bucket", bucket, "--s3-endpoint", s3.endpoint(),
                    "--cache-dir", tmp.resolve("cache-1").toString(), "--pack-interval-ms", "100"), env, tmp.resolve("logs"))) {
                var client = ps.client();
                for (long lsn : new long[] {10, 20, 30}) {
                    client.putPages(PutPagesRequest.newBuilder().addPages(PageWrite.newBuilder().setPage(PAGE).setLsn(lsn)
                            .setData(ByteString.copyFrom(page(lsn, marker + "@" + lsn)))).build());
                }
                client.makeNode(MakeNodeRequest.newBuilder().setPath("/pg_hba.conf").setType(NodeType.REGULAR)
                        .setMode(0600).setUid(105).setGid(106).build());
                long ino = client.getAttr(GetAttrRequest.newBuilder().setPath("/pg_hba.conf").build()).getAttr().getIno();
                client.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0)
                        .setData(ByteString.copyFromUtf8("local all all trust # " + marker)).build());
                client.sync(SyncRequest.getDefaultInstance());
                assertEquals(0, ps.stopCleanly(), "a clean stop packs everything and exits 0:\n" + ps.stderr());
            }
            // A fresh cache directory: everything must come from the bucket.
            try (PageServerProcess ps = PageServerProcess.start(List.of("--bucket", bucket, "--s3-endpoint", s3.endpoint(),
                    "--cache-dir", tmp.resolve("cache-2").toString()), env, tmp.resolve("logs"))) {
                var client = ps.client();
                assertEquals(20, read(client, 25).getLsn());
                assertEquals(ByteString.copyFrom(page(20, marker + "@20")), read(client, 25).getData());
                assertEquals(30, read(client, 0).getLsn());
                var attr = client.getAttr(GetAttrRequest.newBuilder().setPath("/pg_hba.conf").build()).getAttr();
                assertEquals(0600, attr.getMode());
                assertEquals(105, attr.getUid());
                String text = client.readFile(ReadFileRequest.newBuilder().setIno(attr.getIno()).setLength(1000).build())
                        .getData().toStringUtf8();
                assertEquals("local all all trust # " + marker, text);
            }
            byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
            List<Path> objects;
            try (Stream<Path> s = Files.walk(tmp.resolve("s3").resolve("s3proxy-data"))) {
                objects = s.filter(Files::isRegularFile).toList();
            }
            assertTrue(objects.stream().anyMatch(p -> p.toString().contains("segments")), "segments in the bucket: " + objects);
            for (Path object : objects) {
                assertFalse(org.dbfs.pageserver.store.PageStoreTest.indexOf(Files.readAllBytes(object), needle) >= 0,
                        "plaintext marker in " + object);
            }
        }
    }
}
