package org.dbfs.pgformat.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

class PglzTest {
    /**
     * Hand-assembled stream: control 0b0001_1000 = three literals "abc", a tag copying 15 bytes
     * from 3 back (overlapping, so "abc" repeats), then a long tag (len 18 + 2 = 20 from offset 1).
     */
    static final byte[] STREAM = {
        0x18, 'a', 'b', 'c', 0x0C, 0x03, 0x0F, 0x01, 0x02,
    };

    @Test
    void decodesLiteralsOverlappingMatchesAndLongTags() {
        byte[] out = new byte[38];
        assertEquals(38, Pglz.decompress(STREAM, 0, STREAM.length, out, 0, 38, true));
        String expected = "abc".repeat(6) + "c".repeat(20);
        assertEquals(expected, new String(out, StandardCharsets.ISO_8859_1));
    }

    @Test
    void checkCompleteRefusesShortOrLeftoverInput() {
        byte[] out = new byte[40];
        assertEquals(-1, Pglz.decompress(STREAM, 0, STREAM.length, out, 0, 40, true), "output too short");
        assertEquals(38, Pglz.decompress(STREAM, 0, STREAM.length, out, 0, 40, false));
        assertEquals(-1, Pglz.decompress(STREAM, 0, STREAM.length, out, 0, 10, true), "input left over");
    }

    @Test
    void corruptTagsAreRefused() {
        byte[] zeroOffset = {0x01, 0x00, 0x00};
        assertEquals(-1, Pglz.decompress(zeroOffset, 0, 3, new byte[10], 0, 10, false));
        byte[] beforeStart = {0x02, 'a', 0x00, 0x05};
        assertEquals(-1, Pglz.decompress(beforeStart, 0, 4, new byte[10], 0, 10, false));
        byte[] truncatedTag = {0x01, 0x0F};
        assertEquals(-1, Pglz.decompress(truncatedTag, 0, 2, new byte[10], 0, 10, false));
        byte[] truncatedLongTag = {0x02, 'a', 0x0F, 0x01};
        assertEquals(-1, Pglz.decompress(truncatedLongTag, 0, 4, new byte[40], 0, 40, false));
    }

    @Test
    void roundTripsWithTheTestEncoder() {
        byte[] page = new byte[8192];
        for (int i = 0; i < page.length; i++) {
            page[i] = (byte) ((i % 200 < 120) ? 0 : (i * 31 % 7));
        }
        byte[] compressed = PglzTestEncoder.compress(page);
        byte[] out = new byte[8192];
        assertEquals(8192, Pglz.decompress(compressed, 0, compressed.length, out, 0, 8192, true));
        assertArrayEquals(page, out);
        byte[] corrupt = Arrays.copyOf(compressed, compressed.length - 1);
        assertEquals(-1, Pglz.decompress(corrupt, 0, corrupt.length, out, 0, 8192, true));
    }
}
