package org.dbfs.fencing.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;

/** The page server and WAL service fencectl talks to, each call with a deadline. */
final class ServiceChannels implements AutoCloseable {
    private static final long DEADLINE_SECONDS = 30;

    private final ManagedChannel pageServerChannel;
    private ManagedChannel walServiceChannel;
    private final String pageServer;
    private String walService;

    ServiceChannels(String pageServer, String walService) {
        this.pageServer = pageServer;
        this.walService = walService;
        this.pageServerChannel = NettyChannelBuilder.forTarget(pageServer).usePlaintext().build();
    }

    PageServerGrpc.PageServerBlockingStub pageServer() {
        return PageServerGrpc.newBlockingStub(pageServerChannel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    String pageServerAddress() {
        return pageServer;
    }

    /** The WAL service given, else the one the page server reads WAL from. */
    synchronized String walServiceAddress() {
        if (walService == null || walService.isEmpty()) {
            ServerInfoReply info = pageServer().serverInfo(ServerInfoRequest.getDefaultInstance());
            if (info.getWalService().isEmpty()) {
                throw new IllegalArgumentException("the page server " + pageServer + " runs without --walservice; "
                        + "name the WAL service with --walservice HOST:PORT");
            }
            walService = info.getWalService();
        }
        return walService;
    }

    synchronized WalServiceGrpc.WalServiceBlockingStub walService() {
        if (walServiceChannel == null) {
            walServiceChannel = NettyChannelBuilder.forTarget(walServiceAddress()).usePlaintext().build();
        }
        return WalServiceGrpc.newBlockingStub(walServiceChannel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        pageServerChannel.shutdownNow();
        if (walServiceChannel != null) {
            walServiceChannel.shutdownNow();
        }
    }
}
