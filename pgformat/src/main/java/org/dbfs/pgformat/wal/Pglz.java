package org.dbfs.pgformat.wal;

/**
 * A decompressor for PostgreSQL's own LZ format (common/pg_lzcompress.c), the format of
 * wal_compression = pglz images. Written from the format description, not from PostgreSQL's code.
 *
 * <p>The stream is groups of one control byte (bits read least significant first) and up to eight
 * items: a 0 bit is one literal byte, a 1 bit a 2- or 3-byte tag {@code [len-3 | off>>8 << 4][off & 0xFF][len-18]}
 * that copies {@code len} (3..273) bytes from {@code off} (1..4095) bytes back, byte by byte so
 * that overlapping copies repeat a pattern.
 */
public final class Pglz {
    private Pglz() {
    }

    /**
     * pglz_decompress: decompresses {@code src[srcOff, srcOff+srcLen)} into {@code dst[dstOff, dstOff+rawLen)}.
     *
     * @param checkComplete as PostgreSQL's check_complete: the input must be used up and exactly
     *                      {@code rawLen} bytes produced
     * @return the number of bytes produced, or -1 if the data is corrupt
     */
    public static int decompress(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int rawLen,
            boolean checkComplete) {
        int sp = srcOff;
        final int srcEnd = srcOff + srcLen;
        int dp = dstOff;
        final int dstEnd = dstOff + rawLen;
        while (sp < srcEnd && dp < dstEnd) {
            int ctrl = src[sp++] & 0xFF;
            for (int bit = 0; bit < 8 && sp < srcEnd && dp < dstEnd; bit++, ctrl >>>= 1) {
                if ((ctrl & 1) == 0) {
                    dst[dp++] = src[sp++];
                    continue;
                }
                if (sp + 1 >= srcEnd) {
                    return -1; // a tag needs two bytes
                }
                int b0 = src[sp++] & 0xFF;
                int b1 = src[sp++] & 0xFF;
                int len = (b0 & 0x0F) + 3;
                int off = ((b0 & 0xF0) << 4) | b1;
                if (len == 18) {
                    if (sp >= srcEnd) {
                        return -1;
                    }
                    len += src[sp++] & 0xFF;
                }
                if (off == 0 || off > dp - dstOff) {
                    return -1; // a match must point back into what was already produced
                }
                len = Math.min(len, dstEnd - dp);
                for (int from = dp - off, end = dp + len; dp < end; ) {
                    dst[dp++] = dst[from++];
                }
            }
        }
        if (checkComplete && (dp != dstEnd || sp != srcEnd)) {
            return -1;
        }
        return dp - dstOff;
    }
}
