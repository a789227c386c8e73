package org.dbfs.walservice.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.bucket.cli.RequiredOptions;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.index.DecodingRecordIndexer;
import org.dbfs.walservice.replication.PrimaryConnInfo;
import org.dbfs.walservice.server.WalServer;
import org.dbfs.walservice.server.WalServerConfig;
import org.dbfs.walservice.wal.LocalWalFailedException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code walservice --primary CONNINFO --slot NAME --bucket URL --listen HOST:PORT --data-dir DIR}:
 * runs until SIGTERM/SIGINT, then flushes, fsyncs and uploads what is left. Exit codes as the page
 * server's: 2 wrong passphrase, 3 bucket unreachable, 4 corrupt, 5 local I/O, 6 primary refused.
 * The per-page index is built by default ({@code --no-index} turns it off).
 *
 * <p>Subcommands: {@code waldump} ({@link WalDumpCommand}), {@code page-history}
 * ({@link PageHistoryCommand}) and {@code restore} ({@link RestoreCommand}, PostgreSQL's
 * restore_command). The service's options are checked in {@link #call()} rather than declared
 * required, since picocli would otherwise demand them of the subcommands too.
 */
@Command(name = "walservice", mixinStandardHelpOptions = true, subcommands = {WalDumpCommand.class, PageHistoryCommand.class, RestoreCommand.class},
        description = "Streams WAL from a PostgreSQL 15 primary as its synchronous standby, keeps it durable,"
                + " archives it encrypted to a bucket and serves it over gRPC.")
public final class WalServiceCli implements Callable<Integer> {
    static final int EXIT_PRIMARY_REFUSED = 6;

    @Option(names = "--primary", description = "the primary: 'host=H port=P user=U [password=X] [dbname=D]',"
            + " postgresql://user@host:port/db or jdbc:postgresql://host:port/db")
    String primary;

    @Option(names = "--slot", description = "physical replication slot (created if missing); also the"
            + " application_name, so synchronous_standby_names names it")
    String slot;

    @Mixin
    BucketOptions bucket;

    @Option(names = "--listen", defaultValue = "127.0.0.1:6500", description = "HOST:PORT to serve gRPC on (default ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--data-dir", description = "local directory for the durable WAL log and the index")
    Path dataDir;

    @Option(names = "--no-index", negatable = false, description = "do not build the per-page WAL index")
    boolean noIndex;

    @Spec
    CommandSpec spec;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "serve Prometheus metrics at"
            + " http://HOST:PORT/metrics: received, flushed, indexed and archived LSNs, calls by method (docs/operations.md)")
    String metricsListen;

    @Override
    public Integer call() throws Exception {
        requireOption(primary, "--primary=CONNINFO");
        requireOption(slot, "--slot=NAME");
        requireOption(dataDir, "--data-dir=DIR");
        String bucketUrl = bucket.requireBucket();
        HostPort address = HostPort.option(new CommandLine(this), "--listen", listen);
        String host = address.host();
        int port = address.port();
        char[] passphrase = bucket.passphrase();
        WalServerConfig config = new WalServerConfig(PrimaryConnInfo.parse(primary), slot, bucketUrl, bucket.s3Endpoint(), passphrase,
                host, port, dataDir, noIndex ? null : DecodingRecordIndexer::open);
        HostPort metricsAddress = metricsListen == null ? null : HostPort.option(new CommandLine(this), "--metrics-listen", metricsListen);
        WalServer server = WalServer.start(config);
        String metricsAt = "";
        if (metricsAddress != null) {
            try {
                metricsAt = "; metrics on http://" + metricsAddress.host() + ":"
                        + server.serveMetrics(metricsAddress.host(), metricsAddress.port()) + "/metrics";
            } catch (java.io.IOException e) {
                server.close();
                throw e;
            }
        }
        Thread hook = new Thread(() -> {
            try {
                server.close();
                System.err.println("walservice: stopped; local WAL durable up to "
                        + Lsn.format(server.positions().flushed()) + ", archived up to "
                        + Lsn.format(server.positions().archived()));
            } catch (Exception e) {
                System.err.println("walservice: shutdown: " + e.getMessage());
            }
        }, "shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.printf("walservice listening on %s:%d (primary %s, slot %s, bucket %s)%s%n", host, server.port(),
                config.primary(), slot, server.bucket(), metricsAt);
        System.out.flush();
        RuntimeException fatal = server.awaitFatal();
        if (fatal != null) {
            System.err.println("walservice: " + fatal.getMessage());
            Runtime.getRuntime().removeShutdownHook(hook);
            server.close();
            return fatal instanceof LocalWalFailedException ? ExitCodes.LOCAL_IO : EXIT_PRIMARY_REFUSED;
        }
        return 0;
    }

    private void requireOption(Object value, String option) {
        RequiredOptions.require(spec, value, option);
    }

    /** The command line main runs: the service and its subcommands, failures mapped to {@link ExitCodes}. */
    static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new WalServiceCli());
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> ExitCodes.of("walservice", e));
        return cmd;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
