package org.dbfs.fencing.cli;

import org.dbfs.bucket.cli.ExitCodes;
import org.dbfs.fencing.LeaseChangedException;
import org.dbfs.fencing.WriterRefusedException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code fencectl}: the cluster's writer lease (docs/fencing.md). Every change it makes is a
 * conditional write on the lease object in the bucket, the only arbiter there is.
 */
@Command(name = "fencectl", mixinStandardHelpOptions = true, subcommands = {StatusCommand.class, FenceCommand.class, PromoteCommand.class},
        description = "Shows and moves the cluster's writer lease (epoch = fencing token).")
public final class FencectlCli implements Runnable {
    /** A step after the fence failed: the lease moved, the rest must be finished by running the command again. */
    public static final int INCOMPLETE = 6;
    /** The lease forbids it (no lease, or another process moved it first): nothing was changed. */
    public static final int REFUSED = 7;

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new FencectlCli());
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> switch (e) {
            case WriterRefusedException w -> refused(w);
            case LeaseChangedException c -> refused(c);
            case IncompleteException i -> {
                System.err.println("fencectl: " + i.getMessage());
                yield INCOMPLETE;
            }
            default -> ExitCodes.of("fencectl", e);
        });
        return cmd;
    }

    private static int refused(RuntimeException e) {
        System.err.println("fencectl: " + e.getMessage());
        return REFUSED;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
