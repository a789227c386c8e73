package org.dbfs.pageserver.redocheck;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pageserver redo-check --wal-dir DIR}: exit 0 when every checked block matches, 1 on any mismatch. */
@Command(name = "redo-check", mixinStandardHelpOptions = true,
        description = "Redoes WAL written with wal_consistency_checking natively and compares every block with "
                + "PostgreSQL's logged post-image.")
public final class RedoCheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--wal-dir", required = true, description = "directory of WAL segment files (pg_wal or a copy)")
    Path walDir;

    @Option(names = "--max-mismatches", defaultValue = "20", description = "mismatch lines to print (default ${DEFAULT-VALUE})")
    int maxMismatches;

    @Override
    public Integer call() throws Exception {
        RedoCheck check = RedoCheck.run(walDir);
        check.print(spec.commandLine().getOut(), maxMismatches);
        return check.mismatched() == 0 ? 0 : 1;
    }
}
