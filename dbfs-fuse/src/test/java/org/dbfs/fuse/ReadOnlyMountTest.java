package org.dbfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dbfs.pageserver.server.PageServer;
import org.dbfs.pageserver.server.PageServerConfig;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Read-only connections and the read-only mount's refusals at mount time. (A replica with
 * PostgreSQL on it is tests/ReadOnlyReplicaTest.)
 */
class ReadOnlyMountTest {
    private static final char[] PASSPHRASE = "read-only test passphrase".toCharArray();

    @TempDir
    Path tmp;

    private PageServer start(boolean withWalService) throws IOException {
        PageServerConfig config = PageServerConfig.of(Files.createDirectories(tmp.resolve("bucket")).toUri().toString(),
                Files.createDirectories(tmp.resolve("cache")), PASSPHRASE.clone())
                .withListen("127.0.0.1", 0).withLocalSocket(tmp.resolve("ps.sock"));
        if (withWalService) {
            // Never reached by these tests: nothing here reads a page as of an LSN.
            config = config.withGetPage(PageServerConfig.GetPageOptions.of("127.0.0.1:1", false));
        }
        return PageServer.start(config);
    }

    @Test
    void aReadOnlyConnectionCanReadButEveryWriteIsRefusedOnEveryTransport() throws Exception {
        try (PageServer ps = start(false)) {
            String tcp = "127.0.0.1:" + ps.port();
            String grpc = "grpc:" + tcp;
            String socket = "unix:" + tmp.resolve("ps.sock");
            try (PageServerClient writer = new PageServerClient(tcp)) {
                assertEquals(0, writer.makeNode(dir("/made-by-writer")).getErrno());
            }
            for (String target : List.of(tcp, grpc, socket)) {
                try (PageServerClient ro = new PageServerClient(target, true)) {
                    assertEquals(0, ro.getAttr("/made-by-writer").getErrno(), target + ": reads are allowed");
                    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                            () -> ro.makeNode(dir("/made-by-reader")), target);
                    assertEquals(Status.Code.PERMISSION_DENIED, refused.getStatus().getCode(), target);
                    assertTrue(refused.getStatus().getDescription().contains("read-only"), refused.getStatus().toString());
                    assertEquals(2, ro.getAttr("/made-by-reader").getErrno(), target + ": the refused write did not happen");
                }
            }
            try (PageServerClient plain = new PageServerClient(socket)) {
                ServerInfoReply info = plain.serverInfo();
                assertEquals(3, info.getReadOnlyWritesRefused(), "one refusal per transport");
                assertEquals(9, info.getReadOnlyCalls(), "three calls per read-only connection, counted");
                assertEquals(0, plain.makeNode(dir("/made-on-a-plain-socket")).getErrno(),
                        "read-only is the connection's property: other connections still write");
            }
        }
    }

    @Test
    void aReadOnlyMountNeedsAPageServerWithAWalService() throws Exception {
        try (PageServer ps = start(false)) {
            IOException e = assertThrows(IOException.class, () -> DbfsMount.mountReadOnly("127.0.0.1:" + ps.port(),
                    tmp.resolve("overlay"), Files.createDirectories(tmp.resolve("mnt")), List.of()));
            assertTrue(e.getMessage().contains("--walservice"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("overlay")), "nothing was copied");
        }
    }

    @Test
    void aReadOnlyMountOfABucketWithoutADataDirectoryFailsAtMountTime() throws Exception {
        try (PageServer ps = start(true)) {
            IOException e = assertThrows(IOException.class, () -> DbfsMount.mountReadOnly("127.0.0.1:" + ps.port(),
                    tmp.resolve("overlay"), Files.createDirectories(tmp.resolve("mnt")), List.of()));
            assertTrue(e.getMessage().contains("no PostgreSQL data directory") && e.getMessage().contains("initdb"),
                    e.getMessage());
            assertFalse(MountTable.isMountPoint(tmp.resolve("mnt").toRealPath()), "not mounted");
        }
    }

    private static MakeNodeRequest dir(String path) {
        return MakeNodeRequest.newBuilder().setPath(path).setType(NodeType.DIRECTORY).setMode(0755).build();
    }
}
