package org.dbfs.pageserver.cli;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.bucket.cli.PageAddressOptions;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * {@code pageserver getpage --pageserver HOST:PORT --rel SPC/DB/RELNODE --fork main --block N --lsn X/Y
 * --out FILE}: asks a running page server for the page at an LSN (GetPage@LSN) and writes its 8192
 * bytes. Prints how the page was made on stdout. Exit 0 written, 1 the page could not be given
 * (message on stderr), 3 the page server is unreachable.
 */
@Command(name = "getpage", mixinStandardHelpOptions = true,
        description = "Writes one page as of an LSN (GetPage@LSN from a running page server) to a file.")
public final class GetPageCommand implements Callable<Integer> {
    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT", description = "the page server to ask")
    String pageserver;

    @Mixin
    PageAddressOptions address;

    @Option(names = "--lsn", required = true, paramLabel = "X/Y", description = "the LSN: every WAL record ending at or before it is applied")
    String lsn;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "where to write the 8192-byte page")
    Path out;

    @Option(names = "--max-wait-ms", defaultValue = "10000", description = "how long the WAL may take to reach --lsn (default ${DEFAULT-VALUE})")
    int maxWaitMs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        RelTag rel = address.relTag(spec.commandLine());
        int block = address.block(spec.commandLine());
        long at;
        try {
            at = Lsn.parse(lsn);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--lsn wants X/Y (hex, as PostgreSQL prints LSNs), got " + lsn);
        }
        HostPort server = HostPort.option(spec.commandLine(), "--pageserver", pageserver);
        String where = rel.spcNode() + "/" + Integer.toUnsignedString(rel.dbNode()) + "/" + Integer.toUnsignedString(rel.relNode())
                + " " + address.forkName() + " block " + Integer.toUnsignedString(block) + " at " + Lsn.format(at);
        ManagedChannel channel = NettyChannelBuilder.forAddress(server.host(), server.port()).usePlaintext().build();
        try {
            GetPageAtLsnReply reply = PageServerGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(maxWaitMs + 60_000L, TimeUnit.MILLISECONDS)
                    .getPageAtLsn(GetPageAtLsnRequest.newBuilder()
                            .setPage(PageRef.newBuilder().setRel(RelTagMessages.toMessage(rel)).setBlockNum(block))
                            .setLsn(at).setMaxWaitMs(maxWaitMs).build());
            if (reply.getAbsent()) {
                System.err.println("pageserver getpage: " + where + ": the page does not exist (no stored version and no WAL record at or below that LSN)");
                return 1;
            }
            Files.write(out, reply.getData().toByteArray());
            System.out.printf("%s: pd_lsn %s, base %s at %s, %d records redone, %d skipped%n", where,
                    Lsn.format(reply.getPageLsn()), reply.getBase(), Lsn.format(reply.getBaseLsn()),
                    reply.getRecordsRedone(), reply.getRecordsSkipped());
            return 0;
        } catch (StatusRuntimeException e) {
            System.err.println("pageserver getpage: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            return e.getStatus().getCode() == Status.Code.UNAVAILABLE ? ExitCodes.BUCKET_UNAVAILABLE : 1;
        } finally {
            channel.shutdownNow();
        }
    }
}
