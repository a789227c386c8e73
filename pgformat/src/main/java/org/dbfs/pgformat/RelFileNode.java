package org.dbfs.pgformat;

/**
 * PostgreSQL's RelFileNode (storage/relfilenode.h): the physical identity of a relation.
 * OIDs are unsigned 32-bit in PostgreSQL, hence longs here.
 */
public record RelFileNode(long spcNode, long dbNode, long relNode) {

    public RelFileNode {
        checkOid("spcNode", spcNode);
        checkOid("dbNode", dbNode);
        checkOid("relNode", relNode);
    }

    private static void checkOid(String name, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is not an OID: " + value);
        }
    }
}
