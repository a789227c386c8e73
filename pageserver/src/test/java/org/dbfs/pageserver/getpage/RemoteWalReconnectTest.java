package org.dbfs.pageserver.getpage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;
import org.junit.jupiter.api.Test;

/**
 * A page server started before its WAL service (as scripts and tests start them) must reach it as
 * soon as it listens: gRPC's connection backoff would otherwise fail every call for seconds after
 * that, and a standby reading through the page server would get EIO.
 */
class RemoteWalReconnectTest {
    @Test
    void aWalServiceThatStartsLateIsReachedAtOnce() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (RemoteWal wal = new RemoteWal("127.0.0.1:" + port, 16, Duration.ofSeconds(2))) {
            // Each failed call is a connection attempt refused, and each grows the channel's backoff.
            for (int i = 0; i < 4; i++) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, wal::indexedLsn);
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
                Thread.sleep(50);
            }
            Server service = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                    .addService(new WalServiceGrpc.WalServiceImplBase() {
                        @Override
                        public void getPositions(GetPositionsRequest request, StreamObserver<Positions> reply) {
                            reply.onNext(Positions.newBuilder().setIndexedLsn(0x1500000L).build());
                            reply.onCompleted();
                        }
                    }).build().start();
            try {
                assertEquals(0x1500000L, wal.indexedLsn());
            } finally {
                service.shutdownNow();
            }
        }
    }
}
