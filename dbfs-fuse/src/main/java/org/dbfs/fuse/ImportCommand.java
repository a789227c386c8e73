package org.dbfs.fuse;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.ByteSize;
import org.dbfs.bucket.cli.Progress;
import org.dbfs.pgformat.wal.Lsn;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dbfs import --from DIR --pageserver ADDR}: a stopped cluster's data directory onto the
 * empty root of a page server (docs/import.md). Checks first ({@link SourceDataDirectory},
 * {@link WalTail}), then copies ({@link DataDirectoryImport}) with progress on stderr: a bar on a
 * terminal, plain lines otherwise.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Copy a stopped PostgreSQL 15 cluster's data directory onto DbFS, as a read-write mount would have"
                + " stored it (relation files as LSN-versioned pages), into the empty root of a page server.",
                "Then mount it with 'dbfs mount --rw' and start PostgreSQL there (docs/import.md)."})
final class ImportCommand implements Callable<Integer> {

    @Option(names = "--from", required = true, paramLabel = "DIR",
            description = "The data directory of a stopped cluster (stop it with 'pg_ctl stop -D DIR'). Only read.")
    Path from;

    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT|unix:PATH|grpc:HOST:PORT",
            description = "The page server, as 'dbfs mount --pageserver' takes it. Its root must be empty (a new bucket).")
    String pageServer;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        PrintStream err = System.err;
        SourceDataDirectory.Checked source = SourceDataDirectory.check(from);
        WalTail wal = WalTail.find(source.dir().resolve("pg_wal"), source.control());
        ImportPlan plan = ImportPlan.of(source, wal);
        err.println("import: " + source.dir() + " (checkpoint " + Lsn.format(source.control().checkPoint()) + ", WAL ends at "
                + Lsn.format(wal.end()) + ") to page server " + pageServer + ": " + ByteSize.format(plan.bytes()) + " to copy");
        plan.notes().forEach(n -> err.println("import: note: " + n));
        if (plan.walBytesLeftOut() > 0) {
            err.println("import: leaving out " + ByteSize.format(plan.walBytesLeftOut()) + " of pg_wal past the end of WAL ("
                    + plan.walFilesLeftOut() + " recycled segment files and the stale rest of the last one): PostgreSQL"
                    + " never reads them");
        }
        Progress progress = Progress.toStderr("import", plan.bytes());
        DataDirectoryImport.Result r;
        try {
            r = DataDirectoryImport.run(plan, pageServer, progress);
        } finally {
            progress.finish();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        err.printf("import: done: %d directories, %d files, %d symlinks, %s in %s (%s/s); durable on page server %s, writer"
                        + " lease (epoch %d) released.%nimport: next: dbfs mount --rw --pageserver %s MOUNTPOINT, then start"
                        + " PostgreSQL with -D MOUNTPOINT (with postgres-conf/primary.conf appended to its postgresql.conf)%n",
                r.directories(), r.files(), r.symlinks(), ByteSize.format(r.bytes()),
                ByteSize.seconds(Math.round(seconds)), ByteSize.format((long) (r.bytes() / Math.max(seconds, 1e-3))),
                pageServer, r.epoch(), pageServer);
        return 0;
    }
}
