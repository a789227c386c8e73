package org.dbfs.benchmarks;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.dbfs.pageserver.server.PageServer;
import org.dbfs.pageserver.server.PageServerConfig;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;

/** A real {@link PageServer} on 127.0.0.1 with a local-directory bucket, and a client channel to it. */
final class LocalPageServer implements AutoCloseable {
    final Path dir;
    final PageServer server;
    final ManagedChannel channel;
    final PageServerGrpc.PageServerBlockingStub stub;

    private LocalPageServer(Path dir, PageServer server) {
        this.dir = dir;
        this.server = server;
        // Same transport and message limit as a DbFS mount uses.
        this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        this.stub = PageServerGrpc.newBlockingStub(channel);
    }

    /** @param autoPack false keeps the packer idle so it cannot move pages (or burn CPU) mid-measurement */
    static LocalPageServer start(boolean autoPack) throws IOException {
        Path dir = TempDirs.create();
        PageServerConfig config = PageServerConfig.of(dir.resolve("bucket").toString(), dir.resolve("cache"),
                "benchmark passphrase".toCharArray());
        if (!autoPack) {
            config = config.withPacking(Long.MAX_VALUE, Duration.ofDays(365));
        }
        return new LocalPageServer(dir, PageServer.start(config));
    }

    @Override
    public void close() throws IOException {
        channel.shutdownNow();
        try {
            channel.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            server.close();
        } finally {
            TempDirs.delete(dir);
        }
    }
}
