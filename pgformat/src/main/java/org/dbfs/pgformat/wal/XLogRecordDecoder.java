package org.dbfs.pgformat.wal;

import static org.dbfs.pgformat.wal.XLogRecord.*;

/**
 * DecodeXLogRecord: splits a CRC-checked record into its block references, origin, top-level xid
 * and main data, with PostgreSQL's consistency checks. Offsets only; no bytes are copied.
 */
final class XLogRecordDecoder {
    private static final int BLCKSZ = 8192;

    private XLogRecordDecoder() {
    }

    /** Fills {@code r}'s fragment fields from {@code r.buf}; returns null, or PostgreSQL's message. */
    static String decode(DecodedRecord r) {
        final byte[] b = r.buf;
        final String at = " at " + Lsn.format(r.readRecPtr);
        int pos = SizeOfXLogRecord;
        long remaining = r.totLen - SizeOfXLogRecord;
        long datatotal = 0;
        boolean haveRel = false;
        int lastSpc = 0;
        int lastDb = 0;
        int lastRel = 0;

        while (remaining > datatotal) {
            if (remaining < 1) {
                return "record with invalid length" + at;
            }
            int blockId = LittleEndian.u8(b, pos);
            pos++;
            remaining--;
            if (blockId == XLR_BLOCK_ID_DATA_SHORT) {
                if (remaining < 1) {
                    return "record with invalid length" + at;
                }
                r.mainDataLen = LittleEndian.u8(b, pos);
                pos++;
                remaining--;
                datatotal += r.mainDataLen;
                break; // main data header is always last
            } else if (blockId == XLR_BLOCK_ID_DATA_LONG) {
                if (remaining < 4) {
                    return "record with invalid length" + at;
                }
                long len = LittleEndian.u32(b, pos);
                if (len > remaining) {
                    return "record with invalid length" + at;
                }
                r.mainDataLen = (int) len;
                pos += 4;
                remaining -= 4;
                datatotal += len;
                break;
            } else if (blockId == XLR_BLOCK_ID_ORIGIN) {
                if (remaining < 2) {
                    return "record with invalid length" + at;
                }
                r.origin = LittleEndian.u16(b, pos);
                pos += 2;
                remaining -= 2;
            } else if (blockId == XLR_BLOCK_ID_TOPLEVEL_XID) {
                if (remaining < 4) {
                    return "record with invalid length" + at;
                }
                r.toplevelXid = LittleEndian.u32(b, pos);
                pos += 4;
                remaining -= 4;
            } else if (blockId <= XLR_MAX_BLOCK_ID) {
                if (blockId <= r.maxBlockId) {
                    return "out-of-order block_id " + blockId + at;
                }
                // Mark the ids skipped over as unused before this one becomes the highest.
                for (int id = r.maxBlockId + 1; id < blockId; id++) {
                    r.inUse[id] = false;
                }
                r.maxBlockId = blockId;
                r.inUse[blockId] = true;
                if (remaining < 3) {
                    return "record with invalid length" + at;
                }
                int forkFlags = LittleEndian.u8(b, pos);
                int dataLength = LittleEndian.u16(b, pos + 1);
                pos += 3;
                remaining -= 3;
                r.forkFlags[blockId] = forkFlags;
                r.dataLen[blockId] = dataLength;
                boolean hasData = (forkFlags & BKPBLOCK_HAS_DATA) != 0;
                if (hasData && dataLength == 0) {
                    return "BKPBLOCK_HAS_DATA set, but no data included" + at;
                }
                if (!hasData && dataLength != 0) {
                    return "BKPBLOCK_HAS_DATA not set, but data length is " + dataLength + at;
                }
                datatotal += dataLength;

                if ((forkFlags & BKPBLOCK_HAS_IMAGE) != 0) {
                    if (remaining < 5) {
                        return "record with invalid length" + at;
                    }
                    int bimgLen = LittleEndian.u16(b, pos);
                    int holeOffset = LittleEndian.u16(b, pos + 2);
                    int bimgInfo = LittleEndian.u8(b, pos + 4);
                    pos += 5;
                    remaining -= 5;
                    boolean compressed = (bimgInfo & BKPIMAGE_COMPRESSED_MASK) != 0;
                    boolean hasHole = (bimgInfo & BKPIMAGE_HAS_HOLE) != 0;
                    int holeLength;
                    if (compressed) {
                        if (hasHole) {
                            if (remaining < 2) {
                                return "record with invalid length" + at;
                            }
                            holeLength = LittleEndian.u16(b, pos);
                            pos += 2;
                            remaining -= 2;
                        } else {
                            holeLength = 0;
                        }
                    } else {
                        holeLength = BLCKSZ - bimgLen;
                    }
                    datatotal += bimgLen;
                    if (hasHole && (holeOffset == 0 || holeLength == 0 || bimgLen == BLCKSZ)) {
                        return "BKPIMAGE_HAS_HOLE set, but hole offset " + holeOffset + " length " + holeLength
                                + " block image length " + bimgLen + at;
                    }
                    if (!hasHole && (holeOffset != 0 || holeLength != 0)) {
                        return "BKPIMAGE_HAS_HOLE not set, but hole offset " + holeOffset + " length " + holeLength + at;
                    }
                    if (compressed && bimgLen == BLCKSZ) {
                        return "BKPIMAGE_COMPRESSED set, but block image length " + bimgLen + at;
                    }
                    if (!hasHole && !compressed && bimgLen != BLCKSZ) {
                        return "neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is "
                                + bimgLen + at;
                    }
                    r.bimgLen[blockId] = bimgLen;
                    r.holeOffset[blockId] = holeOffset;
                    r.holeLength[blockId] = holeLength;
                    r.bimgInfo[blockId] = bimgInfo;
                } else {
                    r.bimgLen[blockId] = 0;
                    r.holeOffset[blockId] = 0;
                    r.holeLength[blockId] = 0;
                    r.bimgInfo[blockId] = 0;
                }

                if ((forkFlags & BKPBLOCK_SAME_REL) == 0) {
                    if (remaining < 12) {
                        return "record with invalid length" + at;
                    }
                    lastSpc = LittleEndian.i32(b, pos);
                    lastDb = LittleEndian.i32(b, pos + 4);
                    lastRel = LittleEndian.i32(b, pos + 8);
                    haveRel = true;
                    pos += 12;
                    remaining -= 12;
                } else if (!haveRel) {
                    return "BKPBLOCK_SAME_REL set but no previous rel" + at;
                }
                r.spcNode[blockId] = lastSpc;
                r.dbNode[blockId] = lastDb;
                r.relNode[blockId] = lastRel;
                if (remaining < 4) {
                    return "record with invalid length" + at;
                }
                r.blkno[blockId] = LittleEndian.i32(b, pos);
                pos += 4;
                remaining -= 4;
            } else {
                return "invalid block_id " + blockId + at;
            }
        }
        if (remaining != datatotal) {
            return "record with invalid length" + at;
        }

        // Payloads follow the headers: each block's image, then its data, in id order; then main data.
        for (int id = 0; id <= r.maxBlockId; id++) {
            if (!r.inUse[id]) {
                continue;
            }
            if ((r.forkFlags[id] & BKPBLOCK_HAS_IMAGE) != 0) {
                r.imageOff[id] = pos;
                pos += r.bimgLen[id];
            }
            r.dataOff[id] = pos;
            pos += r.dataLen[id];
        }
        r.mainDataOff = pos;
        return null;
    }
}
