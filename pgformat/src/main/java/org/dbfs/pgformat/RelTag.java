package org.dbfs.pgformat;

/**
 * A relation fork: PostgreSQL's RelFileNode (spcNode, dbNode, relNode) plus its ForkNumber, the
 * part of a {@link BufferTag} that names a file rather than a block. OIDs are unsigned 32-bit values
 * held in ints; print them with {@link #toString}.
 */
public record RelTag(int spcNode, int dbNode, int relNode, int forkNum) {

    /** From OIDs held unsigned in longs (as parsed from a path), checked to be OIDs. */
    public static RelTag ofOids(long spcNode, long dbNode, long relNode, int forkNum) {
        return new RelTag(oid("spcNode", spcNode), oid("dbNode", dbNode), oid("relNode", relNode), forkNum);
    }

    private static int oid(String name, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is not an OID: " + value);
        }
        return (int) value;
    }

    /** Another fork of the same relation file node. */
    public RelTag withFork(int forkNum) {
        return new RelTag(spcNode, dbNode, relNode, forkNum);
    }

    @Override
    public String toString() {
        return Integer.toUnsignedString(spcNode) + "/" + Integer.toUnsignedString(dbNode) + "/"
                + Integer.toUnsignedString(relNode) + (forkNum == 0 ? "" : "_" + forkNum);
    }
}
