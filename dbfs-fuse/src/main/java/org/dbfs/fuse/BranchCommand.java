package org.dbfs.fuse;

import io.grpc.StatusRuntimeException;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchReply;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesReply;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code dbfs branch create|list|delete}: writable branches of a cluster at a point in its past
 * (docs/branches.md), registered with the parent's page server, which keeps what they read.
 */
@Command(name = "branch", mixinStandardHelpOptions = true, description = "Create, list and delete branches of a cluster.",
        subcommands = {BranchCommand.Create.class, BranchCommand.List.class, BranchCommand.Delete.class})
final class BranchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (create, list, delete)");
    }

    static final class Parent {
        @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT",
                description = "The parent cluster's page server (it needs --walservice).")
        String pageServer;

        <T> T call(java.util.function.Function<PageServerClient, T> f) throws Exception {
            PageServerClient client = new PageServerClient(pageServer, true);
            try {
                return f.apply(client);
            } catch (StatusRuntimeException e) {
                throw new java.io.IOException(e.getStatus().getDescription() == null ? e.getStatus().getCode().toString()
                        : e.getStatus().getDescription(), e);
            } finally {
                client.close();
            }
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Branch the cluster at an LSN or a time.")
    static final class Create implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        Parent parent = new Parent();

        @ArgGroup(exclusive = true, multiplicity = "1")
        MountCommand.Point point;

        @Parameters(index = "0", paramLabel = "NAME", description = "The branch's name: [a-z0-9][a-z0-9_-]{0,62}.")
        String name;

        @Override
        public Integer call() throws Exception {
            ResolvePointRequest at;
            try {
                at = point.lsn != null ? PointInTime.lsn(point.lsn) : PointInTime.time(point.time);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            BranchInfo b = parent.call(c -> c.createBranch(CreateBranchRequest.newBuilder().setName(name).setPoint(at).build())
                    .getBranch());
            System.out.println("branch " + b.getName() + " created at " + Lsn.format(b.getXEnd()) + " (timeline " + b.getTimeline()
                    + ", snapshot " + b.getSnapshot() + ")");
            System.out.println("its page server: bin/pageserver --bucket <this bucket>/" + b.getPrefix().replaceAll("/$", "")
                    + " --cache-dir DIR --parent-pageserver " + parent.pageServer + " --branch " + b.getName()
                    + " --listen HOST:PORT; then dbfs mount --rw --branch " + b.getName() + " --pageserver HOST:PORT MOUNTPOINT"
                    + " (or scripts/branch start " + b.getName() + ")");
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the branches with their points and sizes.")
    static final class List implements Callable<Integer> {
        @CommandLine.Mixin
        Parent parent = new Parent();

        @Override
        public Integer call() throws Exception {
            ListBranchesReply r = parent.call(c -> c.listBranches(ListBranchesRequest.newBuilder().setSizes(true).build()));
            System.out.printf("%-24s %-18s %-24s %-9s %14s%n", "name", "x_end", "created", "state", "bytes");
            for (BranchInfo b : r.getBranchesList()) {
                System.out.printf("%-24s %-18s %-24s %-9s %,14d%n", b.getName(), Lsn.format(b.getXEnd()),
                        Instant.ofEpochMilli(b.getCreatedAtMs()), b.getState().name().toLowerCase(java.util.Locale.ROOT),
                        b.getSizeBytes());
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a branch and everything it wrote.")
    static final class Delete implements Callable<Integer> {
        @CommandLine.Mixin
        Parent parent = new Parent();

        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            DeleteBranchReply r = parent.call(c -> c.deleteBranch(DeleteBranchRequest.newBuilder().setName(name).build()));
            System.out.println("branch " + name + " deleted (" + r.getObjectsDeleted() + " objects)");
            return 0;
        }
    }
}
