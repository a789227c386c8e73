package org.dbfs.pageserver.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.dbfs.bucket.cli.BucketOptions;
import org.dbfs.bucket.cli.DurationConverter;
import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.bucket.cli.RequiredOptions;
import org.dbfs.pageserver.redocheck.RedoCheckCommand;
import org.dbfs.pageserver.server.PageServer;
import org.dbfs.pageserver.server.PageServerConfig;
import org.dbfs.pageserver.store.GcOptions;
import org.dbfs.pageserver.store.StoreOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;
import sun.misc.Signal;

/**
 * {@code pageserver --bucket URL --listen HOST:PORT --cache-dir DIR}: runs until SIGTERM/SIGINT, then stops
 * cleanly (exit 0 once the bucket holds every acknowledged write). A failed journal fsync ends it at once
 * with exit 5, without packing: a restart on the same cache directory replays the journal.
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

    @Option(names = "--listen", defaultValue = "127.0.0.1:6400", description = "HOST:PORT to serve mounts on (the page"
            + " server's framing) and gRPC, on one port (default ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--cache-dir", description = "local directory for the durable journal and the segment cache")
    Path cacheDir;

    @Option(names = "--pack-bytes", paramLabel = "BYTES", description = "pack journaled versions into a segment after this"
            + " many bytes (default: 64 MiB or a sixteenth of the heap, whichever is less)")
    Long packBytes;

    @Option(names = "--pack-interval-ms", defaultValue = "30000", description = "... or after this many milliseconds (default ${DEFAULT-VALUE})")
    long packIntervalMs;

    @Option(names = "--listen-socket", paramLabel = "PATH", description = "also serve on this Unix-domain socket, for a mount on this machine (dbfs mount --pageserver unix:PATH)")
    Path listenSocket;

    @Option(names = "--walservice", paramLabel = "HOST:PORT", description = "the WAL service of this cluster: enables GetPage@LSN")
    String walservice;

    @Option(names = "--accept-journal-loss", description = "start even though the bucket's newest acknowledged writes"
            + " are in another page server's journal, which is gone: they are given up for good (see docs/pageserver-api.md)")
    boolean acceptJournalLoss;

    @Option(names = "--lease-ttl-ms", defaultValue = "30000", description = "the writer lease's time to live; a page server"
            + " that died holds the bucket this long (default ${DEFAULT-VALUE})")
    long leaseTtlMs;

    @Option(names = "--drain-timeout-ms", defaultValue = "60000", description = "how long a clean stop retries an"
            + " unreachable bucket before it exits non-zero, keeping the journal (default ${DEFAULT-VALUE})")
    long drainTimeoutMs;

    @Option(names = "--retention", defaultValue = "24h", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "keep the versions needed to read any LSN of this window (a point-in-time window: 0, 60s, 15min,"
            + " 24h, 7d); older ones are collected (default ${DEFAULT-VALUE}; see docs/bucket-lifecycle.md)")
    Duration retention;

    @Option(names = "--gc-interval", defaultValue = "60s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "how often garbage collection runs (default ${DEFAULT-VALUE})")
    Duration gcInterval;

    @Option(names = "--gc-grace", defaultValue = "60s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "an object no manifest names is deleted this long after it was first seen so, for readers in"
            + " flight (default ${DEFAULT-VALUE})")
    Duration gcGrace;

    @Option(names = "--max-journal", paramLabel = "BYTES", description = "writes wait while more than this many bytes"
            + " of acknowledged writes wait to be packed in the journal, e.g. while the bucket is unreachable (default:"
            + " 4 GiB or twice the heap, whichever is less)")
    Long maxJournal;

    @Option(names = "--wal-log-hints", description = "the cluster runs with wal_log_hints = on or data checksums (redo then sets pd_lsn as PostgreSQL does)")
    boolean walLogHints;

    @Option(names = "--snapshot-check", defaultValue = "10s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "with --walservice: how often to look for a new checkpoint in pg_control; after each one the page"
            + " server keeps a data-directory snapshot in the bucket, what time-travel mounts start from (default ${DEFAULT-VALUE})")
    Duration snapshotCheck;

    @Option(names = "--parent-pageserver", paramLabel = "HOST:PORT", description = "serve a branch (with --branch): the"
            + " parent's page server, which serves every page the branch has not written, as of the branch point"
            + " (docs/branches.md). --bucket is then the parent's bucket URL followed by /branches/NAME")
    String parentPageServer;

    @Option(names = "--branch", paramLabel = "NAME", description = "with --parent-pageserver: the branch's name (dbfs branch"
            + " create); the first start fills the empty store from the parent's snapshot before the branch point")
    String branch;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "serve Prometheus metrics at"
            + " http://HOST:PORT/metrics (docs/operations.md lists them)")
    String metricsListen;

    @Option(names = "--http-listen", paramLabel = "HOST:PORT", description = "serve the status page at http://HOST:PORT/"
            + " (the lease, the timelines, the primary and each replica with its lag, the WAL service, plots of the last"
            + " hour), with its data at /api/status and the metrics at /metrics")
    String httpListen;

    @Option(names = "--status-interval", defaultValue = "10s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "with --http-listen: how often the status page's plots get a point; they keep an hour"
            + " (default ${DEFAULT-VALUE})")
    Duration statusInterval;

    @Override
    public Integer call() throws Exception {
        if ((parentPageServer == null) != (branch == null)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--parent-pageserver and --branch go together");
        }
        RequiredOptions.require(spec, cacheDir, "--cache-dir=<cacheDir>");
        HostPort address = HostPort.option(new CommandLine(this), "--listen", listen);
        String host = address.host();
        int port = address.port();
        String bucketUrl = bucket.requireBucket();
        char[] passphrase = bucket.passphrase();
        StoreOptions defaults = StoreOptions.defaults(cacheDir);
        StoreOptions store = defaults
                .withPacking(packBytes != null ? packBytes : defaults.packBytes(), Duration.ofMillis(packIntervalMs))
                .withLease(Duration.ofMillis(leaseTtlMs), acceptJournalLoss)
                .withDrainTimeout(Duration.ofMillis(drainTimeoutMs))
                .withGc(GcOptions.defaults().withRetention(retention).withTiming(gcInterval, gcGrace));
        if (maxJournal != null) {
            store = store.withMaxUnpacked(maxJournal);
        }
        PageServerConfig config = new PageServerConfig(bucketUrl, bucket.s3Endpoint(), host, port, passphrase, store,
                walservice == null ? null : PageServerConfig.GetPageOptions.of(walservice, walLogHints).withSnapshotCheck(snapshotCheck),
                listenSocket);
        if (branch != null) {
            config = config.withBranch(new PageServerConfig.BranchOptions(parentPageServer, branch));
        }
        HostPort metricsAddress = metricsListen == null ? null : HostPort.option(new CommandLine(this), "--metrics-listen", metricsListen);
        HostPort httpAddress = httpListen == null ? null : HostPort.option(new CommandLine(this), "--http-listen", httpListen);
        PageServer server = PageServer.start(config);
        String also = "";
        try {
            if (metricsAddress != null) {
                also += "; metrics on http://" + metricsAddress.host() + ":"
                        + server.serveMetrics(metricsAddress.host(), metricsAddress.port()) + "/metrics";
            }
            if (httpAddress != null) {
                also += "; status page on http://" + httpAddress.host() + ":"
                        + server.serveStatusPage(httpAddress.host(), httpAddress.port(), statusInterval) + "/";
            }
        } catch (IOException e) {
            server.close();
            throw e;
        }
        // SIGTERM and SIGINT stop cleanly from this thread, so that the exit code says whether the
        // bucket was left complete (a shutdown hook cannot choose it).
        CountDownLatch stop = new CountDownLatch(1);
        String[] signal = new String[1];
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), s -> {
                if (stop.getCount() == 0) {
                    System.err.println("pageserver: already stopping (packing the journal into the bucket); kill -9"
                            + " abandons that, and the next start then needs this --cache-dir");
                    return;
                }
                signal[0] = "SIG" + s.getName();
                stop.countDown();
            });
        }
        IOException[] fsyncFailure = new IOException[1];
        server.pageStore().onJournalFsyncFailure(e -> {
            fsyncFailure[0] = e;
            stop.countDown();
        });
        System.out.printf("pageserver listening on %s:%d%s (bucket %s, writer generation %d, incarnation %d)%s%n", host,
                server.port(), listenSocket == null ? "" : " and unix:" + listenSocket, server.pageStore().bucket(),
                server.pageStore().writerGeneration(), server.pageStore().incarnation(), also);
        System.out.flush();
        stop.await();
        if (fsyncFailure[0] != null) {
            System.err.println("pageserver: FATAL: a journal fsync failed (" + fsyncFailure[0].getMessage() + "): every write"
                    + " since is refused and nothing is packed. Exiting; start the page server again with the same --cache-dir"
                    + " (after fixing the disk): journal replay restores every acknowledged write");
            System.err.flush();
            try {
                server.close(); // stops serving; the drain refuses a failed journal
            } catch (IOException e) {
                System.err.println("pageserver: " + e.getMessage());
            }
            return ExitCodes.LOCAL_IO;
        }
        System.out.println("pageserver: " + signal[0] + ": stopping cleanly (packing every acknowledged write into the bucket)");
        System.out.flush();
        server.close();
        System.out.println("pageserver: stopped; the bucket is complete");
        return 0;
    }

    public static void main(String[] args) {
        CommandLine cmd = new CommandLine(new PageServerCli());
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> ExitCodes.of("pageserver", e));
        System.exit(cmd.execute(args));
    }
}
