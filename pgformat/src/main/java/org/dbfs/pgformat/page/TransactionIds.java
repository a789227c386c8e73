package org.dbfs.pgformat.page;

/** TransactionIdPrecedes() and friends (access/transam.h) on 32-bit xids held in longs. */
public final class TransactionIds {
    public static final long INVALID = 0;
    public static final long FROZEN = 2;
    public static final long FIRST_NORMAL = 3;

    private TransactionIds() {
    }

    /** TransactionIdPrecedes(a, b): modulo-2^32 comparison for normal xids, plain otherwise. */
    public static boolean precedes(long a, long b) {
        if (a < FIRST_NORMAL || b < FIRST_NORMAL) {
            return a < b;
        }
        return (int) (a - b) < 0;
    }
}
