package org.dbfs.bucket.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine;

/**
 * Options a root command needs only when it runs itself, not when one of its subcommands runs:
 * picocli checks {@code required = true} for the whole command line, so these are checked here,
 * with picocli's own wording.
 */
public final class RequiredOptions {

    private RequiredOptions() {
    }

    /** @return {@code value}; a usage error naming {@code option} if it is null */
    public static <T> T require(CommandSpec spec, T value, String option) {
        if (value == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '" + option + "'");
        }
        return value;
    }
}
