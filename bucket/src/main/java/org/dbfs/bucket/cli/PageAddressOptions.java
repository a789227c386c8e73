package org.dbfs.bucket.cli;

import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code --rel SPC/DB/RELNODE --fork NAME --block N}: one page of one relation, as the page tools name it. */
public final class PageAddressOptions {
    @Option(names = "--rel", required = true, paramLabel = "SPC/DB/RELNODE", description = "tablespace/database/relfilenode OIDs")
    String rel;

    @Option(names = "--fork", defaultValue = "main", description = "main, fsm, vm or init (default ${DEFAULT-VALUE})")
    String fork;

    @Option(names = "--block", required = true, description = "block number")
    long block;

    /** The relation fork named, or a usage error for {@code cmd}. */
    public RelTag relTag(CommandLine cmd) {
        String[] parts = rel.split("/");
        if (parts.length != 3) {
            throw new CommandLine.ParameterException(cmd, "--rel wants SPC/DB/RELNODE, got " + rel);
        }
        int forkNum = -1;
        for (ForkNumber f : ForkNumber.values()) {
            if (f.forkName().equals(fork)) {
                forkNum = f.forkNum();
            }
        }
        if (forkNum < 0) {
            throw new CommandLine.ParameterException(cmd, "--fork wants main, fsm, vm or init, got " + fork);
        }
        try {
            return new RelTag(Integer.parseUnsignedInt(parts[0]), Integer.parseUnsignedInt(parts[1]),
                    Integer.parseUnsignedInt(parts[2]), forkNum);
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(cmd, "--rel wants three OIDs SPC/DB/RELNODE, got " + rel);
        }
    }

    /** The fork's name as given (main, fsm, vm, init). */
    public String forkName() {
        return fork;
    }

    /** The block number, or a usage error for {@code cmd}. */
    public int block(CommandLine cmd) {
        if (block < 0 || block > 0xFFFF_FFFEL) {
            throw new CommandLine.ParameterException(cmd, "--block must be 0..4294967294, got " + block);
        }
        return (int) block;
    }
}
