package org.dbfs.pgformat.wal;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * RestoreBlockImage (xlogreader.c): rebuilds the 8192-byte page of a block reference's full-page
 * image: decompress (pglz, lz4 or zstd), then put the zeroed hole back. Corrupt data is a
 * {@link BlockImageException}, never a wrong page.
 */
public final class BlockImages {
    public static final int BLCKSZ = 8192;

    private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestJavaInstance().safeDecompressor();

    private BlockImages() {
    }

    /**
     * Restores the image of {@code blockId} into {@code page[pageOff, pageOff+8192)}. This does not
     * set pd_lsn: redo does that (unless the page is new), restoring does not.
     *
     * @param scratch at least 8192 bytes for decompression, reused by the caller to stay allocation-free
     */
    public static void restoreBlockImage(DecodedRecord rec, int blockId, byte[] page, int pageOff, byte[] scratch) {
        if (!rec.hasBlockRef(blockId)) {
            throw new BlockImageException("could not restore image at " + Lsn.format(rec.lsn())
                    + " with invalid block " + blockId + " specified");
        }
        if (!rec.hasImage(blockId)) {
            throw new BlockImageException("could not restore image at " + Lsn.format(rec.lsn())
                    + " with invalid state, block " + blockId);
        }
        byte[] src = rec.buffer();
        int imgOff = rec.imageOffset(blockId);
        int bimgLen = rec.imageLength(blockId);
        int holeOffset = rec.holeOffset(blockId);
        int holeLength = rec.holeLength(blockId);
        int info = rec.bimgInfo(blockId);
        if (holeOffset + holeLength > BLCKSZ) {
            throw new BlockImageException("hole beyond the page at " + Lsn.format(rec.lsn()) + " block " + blockId
                    + ": holeOffset=" + holeOffset + " holeLength=" + holeLength);
        }
        int rawLen = BLCKSZ - holeLength;
        if ((info & XLogRecord.BKPIMAGE_COMPRESSED_MASK) != 0) {
            if (scratch.length < BLCKSZ) {
                throw new IllegalArgumentException("scratch buffer too small: length=" + scratch.length);
            }
            decompress(rec, blockId, info, src, imgOff, bimgLen, scratch, rawLen);
            src = scratch;
            imgOff = 0;
        } else if (bimgLen != rawLen) {
            throw new BlockImageException("image length " + bimgLen + " does not fit hole length " + holeLength
                    + " at " + Lsn.format(rec.lsn()) + " block " + blockId);
        }
        if (holeLength == 0) {
            System.arraycopy(src, imgOff, page, pageOff, BLCKSZ);
        } else {
            System.arraycopy(src, imgOff, page, pageOff, holeOffset);
            java.util.Arrays.fill(page, pageOff + holeOffset, pageOff + holeOffset + holeLength, (byte) 0);
            System.arraycopy(src, imgOff + holeOffset, page, pageOff + holeOffset + holeLength,
                    BLCKSZ - (holeOffset + holeLength));
        }
    }

    /** Convenience: the restored page in a new array. */
    public static byte[] restoreBlockImage(DecodedRecord rec, int blockId) {
        byte[] page = new byte[BLCKSZ];
        restoreBlockImage(rec, blockId, page, 0, new byte[BLCKSZ]);
        return page;
    }

    private static void decompress(DecodedRecord rec, int blockId, int info, byte[] src, int off, int len,
            byte[] dst, int rawLen) {
        boolean ok;
        String method;
        try {
            if ((info & XLogRecord.BKPIMAGE_COMPRESS_PGLZ) != 0) {
                method = "pglz";
                ok = Pglz.decompress(src, off, len, dst, 0, rawLen, true) == rawLen;
            } else if ((info & XLogRecord.BKPIMAGE_COMPRESS_LZ4) != 0) {
                method = "lz4";
                // PostgreSQL only wants LZ4_decompress_safe > 0; a short page would be a wrong page, so insist on all of it.
                ok = LZ4.decompress(src, off, len, dst, 0, rawLen) == rawLen;
            } else if ((info & XLogRecord.BKPIMAGE_COMPRESS_ZSTD) != 0) {
                method = "zstd";
                long n = Zstd.decompressByteArray(dst, 0, rawLen, src, off, len);
                ok = !Zstd.isError(n) && n == rawLen;
            } else {
                throw new BlockImageException("could not restore image at " + Lsn.format(rec.lsn())
                        + " compressed with unknown method, block " + blockId);
            }
        } catch (LZ4Exception | ZstdException e) {
            throw new BlockImageException(invalidImage(rec, blockId, null), e);
        }
        if (!ok) {
            throw new BlockImageException(invalidImage(rec, blockId, method));
        }
    }

    private static String invalidImage(DecodedRecord rec, int blockId, String method) {
        return "could not decompress image at " + Lsn.format(rec.lsn()) + ", block " + blockId
                + (method != null ? " (" + method + ")" : "");
    }
}
