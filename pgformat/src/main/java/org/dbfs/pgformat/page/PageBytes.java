package org.dbfs.pgformat.page;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian reads and writes of the fixed-width fields in PostgreSQL pages and WAL payloads. */
public final class PageBytes {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private PageBytes() {
    }

    public static int u8(byte[] b, int off) {
        return b[off] & 0xFF;
    }

    public static int u16(byte[] b, int off) {
        return (short) SHORT.get(b, off) & 0xFFFF;
    }

    public static int i32(byte[] b, int off) {
        return (int) INT.get(b, off);
    }

    public static long u32(byte[] b, int off) {
        return Integer.toUnsignedLong((int) INT.get(b, off));
    }

    public static long i64(byte[] b, int off) {
        return (long) LONG.get(b, off);
    }

    public static void putU16(byte[] b, int off, int v) {
        SHORT.set(b, off, (short) v);
    }

    public static void putI32(byte[] b, int off, int v) {
        INT.set(b, off, v);
    }

    public static void putI64(byte[] b, int off, long v) {
        LONG.set(b, off, v);
    }

    /** MAXALIGN() of the 64-bit builds: up to a multiple of 8. */
    public static int maxAlign(int len) {
        return (len + 7) & ~7;
    }

    /** An ItemPointerData's block number at {@code off}: two u16 halves, high first. */
    public static long itemPointerBlock(byte[] b, int off) {
        return ((long) u16(b, off) << 16) | u16(b, off + 2);
    }

    /** An ItemPointerData's offset number at {@code off}. */
    public static int itemPointerOffset(byte[] b, int off) {
        return u16(b, off + 4);
    }

    /** Writes an ItemPointerData (block as two u16 halves, high first, then the offset number). */
    public static void putItemPointer(byte[] b, int off, long block, int offnum) {
        putItemPointerBlock(b, off, block);
        putU16(b, off + 4, offnum);
    }

    public static void putItemPointerBlock(byte[] b, int off, long block) {
        putU16(b, off, (int) (block >>> 16));
        putU16(b, off + 2, (int) block);
    }
}
