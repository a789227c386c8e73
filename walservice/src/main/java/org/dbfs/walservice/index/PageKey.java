package org.dbfs.walservice.index;

/**
 * One relation page, as PostgreSQL's BufferTag names it: tablespace, database, relfilenode, fork
 * (0 main, 1 fsm, 2 vm, 3 init) and block number. The OIDs and the block number are unsigned 32-bit
 * values held in ints.
 */
public record PageKey(int spcNode, int dbNode, int relNode, int fork, int block) {
    public static final int MAX_FORK = 3;

    public PageKey {
        if (fork < 0 || fork > MAX_FORK) {
            throw new IllegalArgumentException("fork must be 0..3: fork=" + fork);
        }
    }

    @Override
    public String toString() {
        return Integer.toUnsignedString(spcNode) + "/" + Integer.toUnsignedString(dbNode) + "/"
                + Integer.toUnsignedString(relNode) + " fork " + fork + " block " + Integer.toUnsignedString(block);
    }
}
