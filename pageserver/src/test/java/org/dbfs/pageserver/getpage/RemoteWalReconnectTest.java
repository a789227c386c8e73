package org.dbfs.pageserver.getpage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.dbfs.protocol.framed.FramedMethods;
import org.dbfs.protocol.framed.FramedServer;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.Positions;
import org.junit.jupiter.api.Test;

/**
 * A page server started before its WAL service (as scripts and tests start them) must reach it as
 * soon as it listens, and one that restarts must be reached again: a standby reading through the
 * page server would otherwise get EIO. RemoteWal's calls go in the WAL service's framing.
 */
class RemoteWalReconnectTest {
    @Test
    void aWalServiceThatStartsLateIsReachedAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (RemoteWal wal = new RemoteWal("127.0.0.1:" + port, 16, Duration.ofSeconds(1))) {
            // Nobody listens for longer than the call keeps trying: the call fails, as gRPC's would.
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, wal::indexedLsn);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("WAL service 127.0.0.1:" + port), e.getStatus().getDescription());

            // A call made while the service is still starting waits for it and succeeds.
            CompletableFuture<Long> early = CompletableFuture.supplyAsync(wal::indexedLsn);
            Thread.sleep(300);
            FramedMethods methods = new FramedMethods(FramedMethods.unary("GetPositions", GetPositionsRequest.parser(),
                    (GetPositionsRequest request, io.grpc.stub.StreamObserver<Positions> reply) -> {
                        reply.onNext(Positions.newBuilder().setIndexedLsn(0x1500000L).build());
                        reply.onCompleted();
                    }));
            try (FramedServer service = FramedServer.onTcp("walservice", new InetSocketAddress("127.0.0.1", port),
                    () -> methods::call, null)) {
                assertEquals(0x1500000L, early.get());
                assertEquals(0x1500000L, wal.indexedLsn());
            }
        }
    }
}
