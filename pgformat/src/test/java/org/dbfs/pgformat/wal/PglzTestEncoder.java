package org.dbfs.pgformat.wal;

import java.io.ByteArrayOutputStream;

/** A naive PGLZ encoder (greedy, brute-force match search) to produce test input; not PostgreSQL's. */
final class PglzTestEncoder {
    private PglzTestEncoder() {
    }

    static byte[] compress(byte[] in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] group = new byte[1 + 8 * 3];
        int pos = 0;
        while (pos < in.length) {
            int ctrl = 0;
            int g = 1;
            for (int bit = 0; bit < 8 && pos < in.length; bit++) {
                int bestLen = 0;
                int bestOff = 0;
                for (int off = 1; off <= Math.min(pos, 4095); off++) {
                    int len = 0;
                    while (len < 273 && pos + len < in.length && in[pos + len] == in[pos + len - off]) {
                        len++;
                    }
                    if (len > bestLen) {
                        bestLen = len;
                        bestOff = off;
                    }
                }
                if (bestLen >= 3) {
                    ctrl |= 1 << bit;
                    if (bestLen >= 18) {
                        group[g++] = (byte) (((bestOff >> 4) & 0xF0) | 0x0F);
                        group[g++] = (byte) bestOff;
                        group[g++] = (byte) (bestLen - 18);
                    } else {
                        group[g++] = (byte) (((bestOff >> 4) & 0xF0) | (bestLen - 3));
                        group[g++] = (byte) bestOff;
                    }
                    pos += bestLen;
                } else {
                    group[g++] = in[pos++];
                }
            }
            group[0] = (byte) ctrl;
            out.write(group, 0, g);
        }
        return out.toByteArray();
    }
}
