package org.dbfs.fuse;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dbfs} command. */
@Command(name = "dbfs", mixinStandardHelpOptions = true, version = "dbfs 0.1.0",
        description = "Mounts DbFS: PostgreSQL's data directory on a page server.",
        subcommands = {MountCommand.class, UmountCommand.class, BranchCommand.class, StatusCommand.class,
                ImportCommand.class})
public final class DbfsCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new DbfsCli());
        // Expected failures (page server down, not a directory, already mounted) deserve one line, not a trace.
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof java.io.IOException || e instanceof org.cryptomator.jfuse.api.FuseMountFailedException) {
                commandLine.getErr().println("dbfs: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (mount, umount, branch, status, import)");
    }
}
