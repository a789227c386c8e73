package org.dbfs.pgformat;

/**
 * One file of a relation fork on disk: {@code RELNODE[_fork][.segno]}. Segment {@code segno} holds
 * blocks {@code segno * RELSEG_SIZE} up to (excluding) {@code (segno + 1) * RELSEG_SIZE}.
 */
public record RelationSegmentFile(RelTag rel, int segno) {

    public RelationSegmentFile {
        forkNumOf(rel);
        if (segno < 0) {
            throw new IllegalArgumentException("negative segment number " + segno);
        }
    }

    public ForkNumber forkNum() {
        return forkNumOf(rel);
    }

    /** Only PostgreSQL's forks have file names. */
    private static ForkNumber forkNumOf(RelTag rel) {
        return ForkNumber.of(rel.forkNum());
    }

    /** The block number of the first page in this file. */
    public long firstBlock() {
        return (long) segno * PgConstants.RELSEG_SIZE;
    }

    /** The file name PostgreSQL would use (the last component of relpath() plus the segment suffix). */
    public String fileName() {
        StringBuilder name = new StringBuilder().append(Integer.toUnsignedString(rel.relNode()));
        ForkNumber fork = forkNum();
        if (fork != ForkNumber.MAIN_FORKNUM) {
            name.append('_').append(fork.forkName());
        }
        if (segno > 0) {
            name.append('.').append(segno);
        }
        return name.toString();
    }
}
