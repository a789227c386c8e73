package org.dbfs.pgformat.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;

/** The reader on hand-built WAL: one segment's first pages with records whose CRC we compute. */
class WalReaderTest {
    static final int SEG = 1 << 20;

    /** Writes records back to back from the first record position of segment 1, each MAXALIGNed; returns the WAL. */
    static byte[] wal(int... payloadLengths) {
        byte[] w = new byte[4 * 8192];
        for (int p = 0; p < 4; p++) {
            byte[] hdr = XLogPageHeaderTest.page(SEG + p * 8192L, 0, p == 0);
            LittleEndian.putI32(hdr, 32, SEG);
            System.arraycopy(hdr, 0, w, p * 8192, p == 0 ? 40 : 24);
        }
        long pos = SEG + 40;
        long prev = 0x10;
        for (int len : payloadLengths) {
            byte[] rec = record(len, prev);
            prev = pos;
            pos = put(w, pos, rec);
        }
        return w;
    }

    /** An XLOG/NOOP record with main data of {@code len} bytes. */
    static byte[] record(int len, long prev) {
        int hdr = len < 256 ? 2 : 5;
        byte[] r = new byte[24 + hdr + len];
        LittleEndian.putI32(r, 0, r.length);
        LittleEndian.putI64(r, 8, prev);
        r[16] = 0x20; // XLOG_NOOP
        if (len < 256) {
            r[24] = (byte) 255;
            r[25] = (byte) len;
        } else {
            r[24] = (byte) 254;
            LittleEndian.putI32(r, 25, len);
        }
        for (int i = 0; i < len; i++) {
            r[24 + hdr + i] = (byte) i;
        }
        LittleEndian.putI32(r, 20, XLogRecord.computeCrc(new CRC32C(), r, 0, r.length));
        return r;
    }

    /** Lays a record out at pos, across page headers (setting rem_len and the contrecord flag). */
    static long put(byte[] w, long pos, byte[] rec) {
        int done = 0;
        while (done < rec.length) {
            int off = (int) (pos - SEG);
            if (off % 8192 == 0) {
                int page = off;
                int hs = page == 0 ? 40 : 24;
                if (done > 0) {
                    LittleEndian.putU16(w, page + 2, XLogPageHeader.XLP_FIRST_IS_CONTRECORD);
                    LittleEndian.putI32(w, page + 16, rec.length - done);
                }
                pos += hs;
                off += hs;
            }
            int n = Math.min(rec.length - done, 8192 - off % 8192);
            System.arraycopy(rec, done, w, off, n);
            done += n;
            pos += n;
        }
        return Lsn.maxAlign(pos);
    }

    @Test
    void readsRecordsAcrossPagesAndComputesEndRecPtr() {
        byte[] w = wal(10, 9000, 300);
        WalReader r = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 40, SEG, 0);
        DecodedRecord a = (DecodedRecord) r.next();
        assertEquals(SEG + 40, a.lsn());
        assertEquals("XLOG", a.rmgrName());
        assertEquals("NOOP", a.recordTypeName());
        assertEquals(10, a.mainDataLength());
        assertEquals(SEG + 40 + Lsn.maxAlign(36), a.endLsn());
        long bStart = a.endLsn();
        DecodedRecord b = ((DecodedRecord) r.next()).copy(); // the reader reuses its record object
        assertEquals(bStart, b.lsn());
        assertEquals(9000, b.mainDataLength());
        byte[] data = b.mainData();
        assertEquals((byte) 8999, data[8999]);
        // EndRecPtr of a continued record: last page start + header + MAXALIGN(rem_len on that page).
        long written = 8192 - (bStart - SEG); // bytes on the first page
        long rem = 9029 - written;
        assertEquals(SEG + 8192 + 24 + Lsn.maxAlign(rem), b.endLsn());
        DecodedRecord c = (DecodedRecord) r.next();
        assertEquals(b.endLsn(), c.lsn());
        assertEquals(b.lsn(), c.prev());
        WalEnd end = assertInstanceOf(WalEnd.class, r.next());
        assertEquals(WalEnd.Reason.INVALID_RECORD_LENGTH, end.reason(), "zeroed WAL after the last record");
        assertEquals(c.endLsn(), end.lsn());
    }

    @Test
    void seekReadsAnyRecordAgainInAnyOrder() {
        byte[] w = wal(10, 9000, 300, 20);
        WalReader all = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 40, SEG, 0);
        java.util.List<DecodedRecord> records = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            records.add(((DecodedRecord) all.next()).copy());
        }
        WalReader r = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), records.get(3).lsn(), SEG, 0);
        for (int i : new int[] {3, 1, 0, 2, 1}) { // backwards too, and a record spanning pages
            r.seek(records.get(i).lsn());
            DecodedRecord got = (DecodedRecord) r.next();
            assertEquals(records.get(i).lsn(), got.lsn());
            assertEquals(records.get(i).endLsn(), got.endLsn());
            assertArrayEquals(records.get(i).recordBytes(), got.recordBytes());
        }
        r.seek(records.get(1).lsn() + 8); // not a record start: reported, not decoded as garbage
        assertInstanceOf(WalEnd.class, r.next());
    }

    @Test
    void aFlippedPayloadByteIsACrcMismatchAtThatRecord() {
        byte[] w = wal(10, 100, 10);
        WalReader clean = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 40, SEG, 0);
        DecodedRecord first = ((DecodedRecord) clean.next()).copy();
        long second = first.endLsn();
        w[(int) (second - SEG) + 60] ^= 1;
        WalReader r = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 40, SEG, 0);
        assertInstanceOf(DecodedRecord.class, r.next());
        WalEnd end = assertInstanceOf(WalEnd.class, r.next());
        assertEquals(WalEnd.Reason.CRC_MISMATCH, end.reason());
        assertEquals(second, end.lsn());
        assertEquals(second, r.position(), "the reader stays put");
    }

    @Test
    void findFirstRecordSkipsAContinuedTail() {
        byte[] w = wal(9000, 20);
        WalReader all = WalReader.atRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 40, SEG, 0);
        all.next();
        DecodedRecord second = ((DecodedRecord) all.next()).copy();
        WalReader r = WalReader.findFirstRecord(WalSource.ofBytes(SEG, w, w.length), SEG + 8192, SEG, 0);
        DecodedRecord got = (DecodedRecord) r.next();
        assertEquals(second.lsn(), got.lsn());
        assertArrayEquals(second.recordBytes(), got.recordBytes());
    }

    @Test
    void needsMoreBytesThenResumesWithoutLosingPosition() {
        byte[] w = wal(10, 9000, 10);
        int[] available = {100};
        WalSource growing = (lsn, dst, off, len) -> {
            int from = (int) (lsn - SEG);
            int n = Math.min(len, available[0] - from);
            if (n <= 0) {
                return 0;
            }
            System.arraycopy(w, from, dst, off, n);
            return n;
        };
        WalReader r = WalReader.atRecord(growing, SEG + 40, SEG, 0);
        DecodedRecord a = ((DecodedRecord) r.next()).copy();
        WalEnd wait = assertInstanceOf(WalEnd.class, r.next());
        assertEquals(WalEnd.Reason.NEED_MORE_BYTES, wait.reason());
        assertEquals(a.endLsn(), wait.lsn());
        available[0] = 9000;
        assertEquals(WalEnd.Reason.NEED_MORE_BYTES, ((WalEnd) r.next()).reason(), "still mid-record");
        available[0] = w.length;
        DecodedRecord b = (DecodedRecord) r.next();
        assertEquals(a.endLsn(), b.lsn());
        assertEquals(9000, b.mainDataLength());
    }

    @Test
    void restoresAnUncompressedImageWithAHole() {
        // Heap/INSERT-like record: block 0 with a hole image (offset 100, length 8000) and no data.
        int imgLen = 192;
        byte[] r = new byte[24 + 4 + 5 + 12 + 4 + imgLen];
        LittleEndian.putI32(r, 0, r.length);
        r[17] = 10;
        int p = 24;
        r[p++] = 0;
        r[p++] = (byte) XLogRecord.BKPBLOCK_HAS_IMAGE;
        p += 2;
        LittleEndian.putU16(r, p, imgLen);
        LittleEndian.putU16(r, p + 2, 100);
        r[p + 4] = (byte) (XLogRecord.BKPIMAGE_HAS_HOLE | XLogRecord.BKPIMAGE_APPLY);
        p += 5;
        LittleEndian.putI32(r, p, 1663);
        LittleEndian.putI32(r, p + 4, 5);
        LittleEndian.putI32(r, p + 8, 16384);
        LittleEndian.putI32(r, p + 12, 7);
        p += 16;
        for (int i = 0; i < imgLen; i++) {
            r[p + i] = (byte) (i + 1);
        }
        LittleEndian.putI32(r, 20, XLogRecord.computeCrc(new CRC32C(), r, 0, r.length));
        DecodedRecord rec = new DecodedRecord();
        rec.reset(r, r.length, SEG + 40, SEG + 40 + Lsn.maxAlign(r.length));
        assertEquals(null, XLogRecordDecoder.decode(rec));
        assertEquals(7, rec.blockNumber(0));
        assertEquals(8000, rec.holeLength(0));
        assertEquals(imgLen, rec.fpiLength());
        byte[] page = BlockImages.restoreBlockImage(rec, 0);
        assertEquals(1, page[0]);
        assertEquals(100, page[99]);
        assertEquals(0, page[100]);
        assertEquals(0, page[8099]);
        assertEquals(101, page[8100]);
        assertEquals((byte) 192, page[8191]);
        // The same bytes claimed to be pglz-compressed are corrupt: an exception, never a page.
        rec.bimgInfo[0] |= XLogRecord.BKPIMAGE_COMPRESS_PGLZ;
        assertThrows(BlockImageException.class, () -> BlockImages.restoreBlockImage(rec, 0));
        rec.bimgInfo[0] = XLogRecord.BKPIMAGE_HAS_HOLE | XLogRecord.BKPIMAGE_COMPRESS_LZ4;
        assertThrows(BlockImageException.class, () -> BlockImages.restoreBlockImage(rec, 0));
        rec.bimgInfo[0] = XLogRecord.BKPIMAGE_HAS_HOLE | XLogRecord.BKPIMAGE_COMPRESS_ZSTD;
        assertThrows(BlockImageException.class, () -> BlockImages.restoreBlockImage(rec, 0));
    }

    @Test
    void statsPercentagesRoundLikeGlibc() {
        assertEquals("0.12", WalStats.fixed2(0.125));
        assertEquals("2.67", WalStats.fixed2(2.675)); // 2.67499999... in binary
        assertEquals("100.00", WalStats.fixed2(100));
    }
}
