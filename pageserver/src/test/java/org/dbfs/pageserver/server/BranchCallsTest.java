package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.getpage.PageWal;
import org.dbfs.pageserver.store.GcOptions;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.PrimaryWal;
import org.dbfs.pageserver.store.RelTagRecords;
import org.dbfs.pageserver.store.StoreOptions;
import org.dbfs.pgformat.RelTag;
import org.dbfs.protocol.framed.Frames;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesReply;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.PageBase;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The branch calls and pinned GetPage@LSN as a branch's page server sees them: status codes, a
 * pinned read that leaves out what the parent wrote after the cut and is served below the horizon,
 * and the calls on the Unix socket, read-only connections included.
 */
class BranchCallsTest {
    private static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);
    private static final RelTag REL = new RelTag(1663, 5, 16600, 0);
    private static final long X = 0x200;
    /** An index with no records: pages come from the stored versions alone. */
    private static final PageWal NO_RECORDS = new PageWal() {
        @Override
        public List<org.dbfs.pageserver.getpage.WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn,
                                                                     boolean fromLastBase, long waitMs) {
            return List.of();
        }

        @Override
        public List<org.dbfs.pgformat.wal.DecodedRecord> read(List<org.dbfs.pageserver.getpage.WalRecordRef> records) {
            return List.of();
        }
    };

    @TempDir
    Path dir;

    private static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    private static void put(PageStore store, long lsn, String marker) throws IOException {
        byte[] page = new byte[8192];
        for (int i = 0; i < 8; i++) { // pd_lsn as PostgreSQL stores it: xlogid, then xrecoff
            page[i] = (byte) (i < 4 ? (lsn >>> 32) >>> (8 * i) : lsn >>> (8 * (i - 4)));
        }
        byte[] m = marker.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(m, 0, page, 100, m.length);
        store.commit(JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(REL))
                .setLsn(lsn).setData(ByteString.copyFrom(page))));
    }

    private static String marker(GetPageAtLsnReply reply) {
        byte[] page = reply.getData().toByteArray();
        int end = 100;
        while (page[end] != 0) {
            end++;
        }
        return new String(page, 100, end - 100, StandardCharsets.UTF_8);
    }

    private static GetPageAtLsnRequest getPage(long lsn, String pin) {
        return GetPageAtLsnRequest.newBuilder().setPage(PageRef.newBuilder().setRel(RelTagMessages.toMessage(REL)))
                .setLsn(lsn).setPin(pin).build();
    }

    @Test
    void aPinnedReadLeavesOutWhatTheParentWroteAfterTheCutAndIsServedBelowTheHorizon() throws IOException {
        try (ObjectStore bucket = ObjectStores.open(dir.resolve("bucket").toString(), null);
             PageStore store = PageStore.open(bucket, CODEC, StoreOptions.defaults(dir.resolve("cache"))
                     .withPacking(Long.MAX_VALUE, Duration.ofDays(1))
                     .withGc(GcOptions.defaults().withRetention(Duration.ZERO).withTiming(Duration.ofDays(1), Duration.ZERO)))) {
            bucket.put(BucketLayout.KEY, new byte[] {7});
            PrimaryWal.writeUpTo(store, 1, 0x150);
            put(store, 0x100, "before the cut");
            PrimaryWal.writeUpTo(store, 1, 0x260); // the WAL passes X
            put(store, 0x100, "hint bits of a commit after X");
            store.branches().create("dev", X, "snapshots/s");
            // No page cache in the shared materializer: a page cached at X is served whatever the horizon.
            PageServerService service = new PageServerService(store, Runnable::run,
                    new PageMaterializer(store::readPage, NO_RECORDS, false, 0), new ReadOnlyConnections(), "",
                    new ClusterLeaseStore(bucket, CODEC, Clock.systemUTC(), Duration.ofSeconds(30)), null);
            String name = InProcessServerBuilder.generateName();
            Server server = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
            ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
            try {
                calls(PageServerGrpc.newBlockingStub(channel), store);
            } finally {
                channel.shutdownNow();
                server.shutdownNow();
            }
        }
    }

    /** Through gRPC, as a branch's page server and the CLI call them. */
    private static void calls(PageServerGrpc.PageServerBlockingStub service, PageStore store) throws IOException {
        GetPageAtLsnReply pinned = service.getPageAtLsn(getPage(X, "dev"));
        assertEquals("before the cut", marker(pinned));
        assertEquals(PageBase.STORED_IMAGE, pinned.getBase());
        assertEquals("hint bits of a commit after X", marker(service.getPageAtLsn(getPage(X, ""))));
        assertEquals(Status.Code.NOT_FOUND, code(() -> service.getPageAtLsn(getPage(X, "nope"))));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> service.getPageAtLsn(getPage(X + 1, "dev"))),
                "a branch reads its parent at its X_end only");

        put(store, 0x300, "after");
        store.packNow();
        store.collectGarbage(); // the horizon passes X
        assertEquals(Status.Code.OUT_OF_RANGE, code(() -> service.getPageAtLsn(getPage(X, ""))));
        assertEquals("before the cut", marker(service.getPageAtLsn(getPage(X, "dev"))), "kept, and served");

        BranchInfo listed = service.listBranches(ListBranchesRequest.newBuilder().setSizes(true).build())
                .getBranches(0);
        assertEquals("dev", listed.getName());
        assertEquals(X, listed.getXEnd());
        assertEquals(BranchInfo.State.ACTIVE, listed.getState());
        assertEquals("snapshots/s", listed.getSnapshot());
        assertEquals(1, listed.getObjects(), "its key");
        assertEquals(1, listed.getSizeBytes());

        CreateBranchRequest create = CreateBranchRequest.newBuilder().setName("dev")
                .setPoint(ResolvePointRequest.newBuilder().setLsn(X)).build();
        assertEquals(Status.Code.ALREADY_EXISTS, code(() -> service.createBranch(create)));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> service.createBranch(create.toBuilder().setName("Dev").build())));
        assertEquals(Status.Code.FAILED_PRECONDITION, code(() -> service.createBranch(create.toBuilder().setName("two").build())),
                "points are resolved through the WAL service");

        assertEquals(1, service.deleteBranch(DeleteBranchRequest.newBuilder().setName("dev").build()).getObjectsDeleted());
        assertEquals(Status.Code.NOT_FOUND, code(() -> service.deleteBranch(DeleteBranchRequest.newBuilder().setName("dev").build())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> service.getPageAtLsn(getPage(X, "dev"))), "the pin went with it");
    }

    @Test
    void theBranchCallsAreServedOnTheUnixSocketAndOnReadOnlyConnections() throws Exception {
        Path socket = dir.resolve("ps.sock");
        try (PageServer server = PageServer.start(PageServerConfig.of(dir.resolve("bucket").toUri().toString(),
                     dir.resolve("cache"), "branch calls test passphrase".toCharArray()).withLocalSocket(socket));
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            Frames frames = new Frames(ch);
            frames.writePreface();
            frames.writeRequest(ReadOnlyAccess.DECLARE_METHOD, Empty.getDefaultInstance());
            assertTrue(frames.readReply().ok());

            frames.writeRequest("ListBranches", ListBranchesRequest.getDefaultInstance());
            Frames.Reply list = frames.readReply();
            assertTrue(list.ok(), list.toString());
            assertEquals(0, ListBranchesReply.parseFrom(list.payload()).getBranchesCount());
            frames.writeRequest("CreateBranch", CreateBranchRequest.newBuilder().setName("dev")
                    .setPoint(ResolvePointRequest.newBuilder().setLsn(X)).build());
            assertEquals(Status.Code.FAILED_PRECONDITION, frames.readReply().status().getCode(),
                    "not refused as a write: without a WAL service there is no point to branch at");
            frames.writeRequest("DeleteBranch", DeleteBranchRequest.newBuilder().setName("dev").build());
            assertEquals(Status.Code.NOT_FOUND, frames.readReply().status().getCode());
            frames.writeRequest("GetPageAtLsn", getPage(X, "dev"));
            assertEquals(Status.Code.FAILED_PRECONDITION, frames.readReply().status().getCode(), "no WAL service");
        }
    }
}
