package org.dbfs.pageserver.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.bucket.cli.RequiredOptions;
import org.dbfs.pageserver.redocheck.RedoCheckCommand;
import org.dbfs.pageserver.server.PageServer;
import org.dbfs.pageserver.server.PageServerConfig;
import org.dbfs.pageserver.store.StoreOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pageserver --bucket URL --listen HOST:PORT --cache-dir DIR}: runs until SIGTERM/SIGINT.
 * Subcommands {@code redo-check} ({@link RedoCheckCommand}) and {@code getpage} ({@link GetPageCommand}); the server's own options are checked in
 * {@link #call()} rather than declared required, so that it does not demand them.
 */
@Command(name = "pageserver", mixinStandardHelpOptions = true, subcommands = {RedoCheckCommand.class, GetPageCommand.class},
        description = "Serves LSN-versioned PostgreSQL pages and files from an encrypted bucket.")
public final class PageServerCli implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BucketOptions bucket;

    @Option(names = "--listen", defaultValue = "127.0.0.1:6400", description = "HOST:PORT to serve gRPC on (default ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--cache-dir", description = "local directory for the durable journal and the segment cache")
    Path cacheDir;

    @Option(names = "--pack-bytes", defaultValue = "67108864", description = "pack journaled versions into a segment after this many bytes (default ${DEFAULT-VALUE})")
    long packBytes;

    @Option(names = "--pack-interval-ms", defaultValue = "30000", description = "... or after this many milliseconds (default ${DEFAULT-VALUE})")
    long packIntervalMs;

    @Option(names = "--listen-socket", paramLabel = "PATH", description = "also serve on this Unix-domain socket, for a mount on this machine (dbfs mount --pageserver unix:PATH)")
    Path listenSocket;

    @Option(names = "--walservice", paramLabel = "HOST:PORT", description = "the WAL service of this cluster: enables GetPage@LSN")
    String walservice;

    @Option(names = "--wal-log-hints", description = "the cluster runs with wal_log_hints = on or data checksums (redo then sets pd_lsn as PostgreSQL does)")
    boolean walLogHints;

    @Override
    public Integer call() throws Exception {
        RequiredOptions.require(spec, cacheDir, "--cache-dir=<cacheDir>");
        HostPort address = HostPort.option(new CommandLine(this), "--listen", listen);
        String host = address.host();
        int port = address.port();
        String bucketUrl = bucket.requireBucket();
        char[] passphrase = bucket.passphrase();
        PageServerConfig config = new PageServerConfig(bucketUrl, bucket.s3Endpoint(), host, port, passphrase,
                StoreOptions.defaults(cacheDir).withPacking(packBytes, Duration.ofMillis(packIntervalMs)),
                walservice == null ? null : PageServerConfig.GetPageOptions.of(walservice, walLogHints), listenSocket);
        PageServer server = PageServer.start(config);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("pageserver: shutdown: " + e.getMessage());
            }
        }, "shutdown"));
        System.out.printf("pageserver listening on %s:%d%s (bucket %s, incarnation %d)%n", host, server.port(),
                listenSocket == null ? "" : " and unix:" + listenSocket, server.pageStore().bucket(), server.pageStore().incarnation());
        System.out.flush();
        server.awaitTermination();
        return 0;
    }

    public static void main(String[] args) {
        CommandLine cmd = new CommandLine(new PageServerCli());
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> ExitCodes.of("pageserver", e));
        System.exit(cmd.execute(args));
    }
}
