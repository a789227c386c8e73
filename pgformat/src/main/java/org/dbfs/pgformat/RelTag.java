package org.dbfs.pgformat;

/**
 * A relation fork: PostgreSQL's RelFileNode (spcNode, dbNode, relNode) plus its ForkNumber, the
 * part of a BufferTag that names a file rather than a block. OIDs are unsigned 32-bit values held in
 * ints; print them with {@link #toString}.
 */
public record RelTag(int spcNode, int dbNode, int relNode, int forkNum) {

    @Override
    public String toString() {
        return Integer.toUnsignedString(spcNode) + "/" + Integer.toUnsignedString(dbNode) + "/"
                + Integer.toUnsignedString(relNode) + (forkNum == 0 ? "" : "_" + forkNum);
    }
}
