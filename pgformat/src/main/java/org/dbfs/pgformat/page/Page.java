package org.dbfs.pgformat.page;

import static org.dbfs.pgformat.page.PageBytes.maxAlign;
import static org.dbfs.pgformat.page.PageBytes.u16;
import static org.dbfs.pgformat.page.PageBytes.putU16;

import java.util.Arrays;

/**
 * PostgreSQL 15's slotted page (storage/bufpage.h, bufpage.c) over an 8192-byte array, page at offset 0.
 *
 * <pre>
 *  0        8         10       12       14       16         18                20            24
 *  | pd_lsn | checksum | flags | lower  | upper  | special  | pagesize_version | prune_xid   | line pointers ...
 *  pd_lsn: two LE u32, high half first.   Line pointer (ItemIdData, LE u32): off 0..14, flags 15..16, len 17..31.
 * </pre>
 *
 * <p>The mutators behave byte for byte like bufpage.c as far as anything outside the hole
 * [pd_lower, pd_upper) and item padding is concerned; those two regions are masked in every comparison
 * PostgreSQL makes. Not thread-safe: callers own the array.
 */
public final class Page {
    public static final int BLCKSZ = 8192;
    public static final int SIZE_OF_PAGE_HEADER = 24;
    public static final int ITEM_ID_SIZE = 4;
    public static final int PD_CHECKSUM_OFFSET = 8;
    public static final int PD_FLAGS_OFFSET = 10;
    public static final int PD_LOWER_OFFSET = 12;
    public static final int PD_UPPER_OFFSET = 14;
    public static final int PD_SPECIAL_OFFSET = 16;
    public static final int PD_PAGESIZE_VERSION_OFFSET = 18;
    public static final int PD_PRUNE_XID_OFFSET = 20;
    public static final int PAGE_SIZE_VERSION = BLCKSZ | 4;

    public static final int PD_HAS_FREE_LINES = 0x1;
    public static final int PD_PAGE_FULL = 0x2;
    public static final int PD_ALL_VISIBLE = 0x4;

    public static final int LP_UNUSED = 0;
    public static final int LP_NORMAL = 1;
    public static final int LP_REDIRECT = 2;
    public static final int LP_DEAD = 3;

    /** PageAddItemExtended flags. */
    public static final int PAI_OVERWRITE = 1;
    public static final int PAI_IS_HEAP = 2;

    public static final int MAX_HEAP_TUPLES_PER_PAGE = 291;
    public static final int MAX_INDEX_TUPLES_PER_PAGE = 1358;

    private Page() {
    }

    // ---- header ----

    public static long lsn(byte[] p) {
        return (PageBytes.u32(p, 0) << 32) | PageBytes.u32(p, 4);
    }

    public static void setLsn(byte[] p, long lsn) {
        PageBytes.putI32(p, 0, (int) (lsn >>> 32));
        PageBytes.putI32(p, 4, (int) lsn);
    }

    public static int flags(byte[] p) {
        return u16(p, PD_FLAGS_OFFSET);
    }

    public static void setFlags(byte[] p, int flags) {
        putU16(p, PD_FLAGS_OFFSET, flags);
    }

    public static int lower(byte[] p) {
        return u16(p, PD_LOWER_OFFSET);
    }

    public static void setLower(byte[] p, int v) {
        putU16(p, PD_LOWER_OFFSET, v);
    }

    public static int upper(byte[] p) {
        return u16(p, PD_UPPER_OFFSET);
    }

    public static void setUpper(byte[] p, int v) {
        putU16(p, PD_UPPER_OFFSET, v);
    }

    public static int special(byte[] p) {
        return u16(p, PD_SPECIAL_OFFSET);
    }

    public static long pruneXid(byte[] p) {
        return PageBytes.u32(p, PD_PRUNE_XID_OFFSET);
    }

    public static void setPruneXid(byte[] p, long xid) {
        PageBytes.putI32(p, PD_PRUNE_XID_OFFSET, (int) xid);
    }

    /** PageIsNew(): pd_upper == 0, the all-zero page. */
    public static boolean isNew(byte[] p) {
        return upper(p) == 0;
    }

    /** PageIsEmpty(): no line pointers. */
    public static boolean isEmpty(byte[] p) {
        return lower(p) <= SIZE_OF_PAGE_HEADER;
    }

    public static int maxOffsetNumber(byte[] p) {
        int lower = lower(p);
        return lower <= SIZE_OF_PAGE_HEADER ? 0 : (lower - SIZE_OF_PAGE_HEADER) / ITEM_ID_SIZE;
    }

    public static void setFlag(byte[] p, int flag) {
        setFlags(p, flags(p) | flag);
    }

    public static void clearFlag(byte[] p, int flag) {
        setFlags(p, flags(p) & ~flag);
    }

    /** PageSetPrunable(): pd_prune_xid becomes xid if unset or if xid precedes it. */
    public static void setPrunable(byte[] p, long xid) {
        long cur = pruneXid(p);
        if (cur == 0 || TransactionIds.precedes(xid, cur)) {
            setPruneXid(p, xid);
        }
    }

    // ---- line pointers ----

    /** Byte offset of line pointer {@code offnum} (1-based). */
    public static int itemIdOffset(int offnum) {
        return SIZE_OF_PAGE_HEADER + (offnum - 1) * ITEM_ID_SIZE;
    }

    public static int itemId(byte[] p, int offnum) {
        return PageBytes.i32(p, itemIdOffset(offnum));
    }

    public static void setItemId(byte[] p, int offnum, int word) {
        PageBytes.putI32(p, itemIdOffset(offnum), word);
    }

    public static int lpOff(int word) {
        return word & 0x7FFF;
    }

    public static int lpFlags(int word) {
        return (word >>> 15) & 3;
    }

    public static int lpLen(int word) {
        return word >>> 17;
    }

    public static int makeItemId(int off, int flags, int len) {
        return off | (flags << 15) | (len << 17);
    }

    public static int itemOff(byte[] p, int offnum) {
        return lpOff(itemId(p, offnum));
    }

    public static int itemLen(byte[] p, int offnum) {
        return lpLen(itemId(p, offnum));
    }

    public static int itemFlags(byte[] p, int offnum) {
        return lpFlags(itemId(p, offnum));
    }

    // ---- bufpage.c ----

    /** PageInit(): zeroes the page and sets lower, upper, special and the page size/version. */
    public static void init(byte[] p, int specialSize) {
        Arrays.fill(p, 0, BLCKSZ, (byte) 0);
        int special = BLCKSZ - maxAlign(specialSize);
        setLower(p, SIZE_OF_PAGE_HEADER);
        setUpper(p, special);
        putU16(p, PD_SPECIAL_OFFSET, special);
        putU16(p, PD_PAGESIZE_VERSION_OFFSET, PAGE_SIZE_VERSION);
    }

    private static void checkPointers(byte[] p) {
        int lower = lower(p);
        int upper = upper(p);
        int special = special(p);
        if (lower < SIZE_OF_PAGE_HEADER || lower > upper || upper > special || special > BLCKSZ) {
            throw new PageCorruptException("corrupted page pointers: lower=" + lower + " upper=" + upper
                    + " special=" + special);
        }
    }

    /**
     * PageAddItemExtended() with an explicit offset number, as redo uses it. Without
     * {@link #PAI_OVERWRITE}, an offnum inside the array shifts the later line pointers up.
     *
     * @return offnum
     * @throws PageCorruptException where PostgreSQL returns InvalidOffsetNumber
     */
    public static int addItem(byte[] p, byte[] item, int itemOff, int size, int offnum, int flags) {
        checkPointers(p);
        int limit = maxOffsetNumber(p) + 1;
        boolean shuffle = false;
        if (offnum < 1) {
            throw new PageCorruptException("invalid offnum " + offnum);
        }
        if (offnum < limit) {
            if ((flags & PAI_OVERWRITE) != 0) {
                int w = itemId(p, offnum);
                if (lpFlags(w) != LP_UNUSED || lpLen(w) != 0) {
                    throw new PageCorruptException("will not overwrite a used ItemId at offnum " + offnum);
                }
            } else {
                shuffle = true;
            }
        }
        if (offnum > limit) {
            throw new PageCorruptException("specified item offset " + offnum + " is too large (limit " + limit + ")");
        }
        if ((flags & PAI_IS_HEAP) != 0 && offnum > MAX_HEAP_TUPLES_PER_PAGE) {
            throw new PageCorruptException("can't put more than MaxHeapTuplesPerPage items in a heap page");
        }
        int lower = (offnum == limit || shuffle) ? lower(p) + ITEM_ID_SIZE : lower(p);
        int upper = upper(p) - maxAlign(size);
        if (lower > upper) {
            throw new PageCorruptException("no room for an item of " + size + " bytes at offnum " + offnum);
        }
        if (shuffle) {
            int from = itemIdOffset(offnum);
            System.arraycopy(p, from, p, from + ITEM_ID_SIZE, (limit - offnum) * ITEM_ID_SIZE);
        }
        setItemId(p, offnum, makeItemId(upper, LP_NORMAL, size));
        System.arraycopy(item, itemOff, p, upper, size);
        setLower(p, lower);
        setUpper(p, upper);
        return offnum;
    }

    /**
     * compactify_tuples(): packs the given items (line pointer index, old offset, aligned length) from
     * pd_special downward in the given order and updates their lp_off; sets pd_upper.
     */
    private static void compactify(byte[] p, int[] lpIndex, int[] itemOff, int[] alignedLen, int n) {
        byte[] scratch = p.clone();
        int upper = special(p);
        for (int i = 0; i < n; i++) {
            upper -= alignedLen[i];
            System.arraycopy(scratch, itemOff[i], p, upper, alignedLen[i]);
            int w = itemId(p, lpIndex[i]);
            setItemId(p, lpIndex[i], (w & ~0x7FFF) | upper);
        }
        setUpper(p, upper);
    }

    /** PageRepairFragmentation() (heap pages): compacts storage, truncates trailing unused line pointers. */
    public static void repairFragmentation(byte[] p) {
        checkPointers(p);
        int upperBound = upper(p);
        int special = special(p);
        if (special != maxAlign(special)) {
            throw new PageCorruptException("corrupted page pointers: special=" + special);
        }
        int nline = maxOffsetNumber(p);
        int[] idx = new int[nline];
        int[] offs = new int[nline];
        int[] lens = new int[nline];
        int n = 0;
        int nunused = 0;
        int finalUsed = 0;
        int total = 0;
        for (int i = 1; i <= nline; i++) {
            int w = itemId(p, i);
            if (lpFlags(w) != LP_UNUSED) {
                if (lpLen(w) != 0) {
                    int off = lpOff(w);
                    if (off < upperBound || off >= special) {
                        throw new PageCorruptException("corrupted line pointer: " + off);
                    }
                    idx[n] = i;
                    offs[n] = off;
                    lens[n] = maxAlign(lpLen(w));
                    total += lens[n];
                    n++;
                }
                finalUsed = i;
            } else {
                setItemId(p, i, 0);
                nunused++;
            }
        }
        if (n == 0) {
            setUpper(p, special);
        } else {
            if (total > special - lower(p)) {
                throw new PageCorruptException("corrupted item lengths: total " + total);
            }
            compactify(p, idx, offs, lens, n);
        }
        if (finalUsed != nline) {
            int nunusedEnd = nline - finalUsed;
            nunused -= nunusedEnd;
            setLower(p, lower(p) - ITEM_ID_SIZE * nunusedEnd);
        }
        if (nunused > 0) {
            setFlag(p, PD_HAS_FREE_LINES);
        } else {
            clearFlag(p, PD_HAS_FREE_LINES);
        }
    }

    /** PageTruncateLinePointerArray(): drops trailing unused line pointers (never line pointer 1). */
    public static void truncateLinePointerArray(byte[] p) {
        int nline = maxOffsetNumber(p);
        boolean countDone = false;
        boolean setHint = false;
        int nunusedEnd = 0;
        for (int i = nline; i >= 1; i--) {
            boolean used = itemFlags(p, i) != LP_UNUSED;
            if (!countDone && i > 1) {
                if (!used) {
                    nunusedEnd++;
                } else {
                    countDone = true;
                }
            } else {
                countDone = true;
                if (!used) {
                    setHint = true;
                    break;
                }
            }
        }
        if (nunusedEnd > 0) {
            setLower(p, lower(p) - ITEM_ID_SIZE * nunusedEnd);
        }
        if (setHint) {
            setFlag(p, PD_HAS_FREE_LINES);
        } else {
            clearFlag(p, PD_HAS_FREE_LINES);
        }
    }

    private static int checkedItem(byte[] p, int offnum) {
        checkPointers(p);
        int nline = maxOffsetNumber(p);
        if (offnum <= 0 || offnum > nline) {
            throw new PageCorruptException("invalid index offnum: " + offnum);
        }
        int w = itemId(p, offnum);
        int off = lpOff(w);
        int size = maxAlign(lpLen(w));
        if (off < upper(p) || off + size > special(p) || off != maxAlign(off)) {
            throw new PageCorruptException("corrupted line pointer: offset = " + off + ", size = " + size);
        }
        return w;
    }

    /** Moves [pd_upper, offset) up by {@code diff} bytes and fixes lp_off of every item at or below offset. */
    private static void closeGap(byte[] p, int offset, int diff, int nline) {
        int upper = upper(p);
        if (offset > upper) {
            System.arraycopy(p, upper, p, upper + diff, offset - upper);
        }
        setUpper(p, upper + diff);
        for (int i = 1; i <= nline; i++) {
            int w = itemId(p, i);
            if (lpLen(w) != 0 && lpOff(w) <= offset) {
                setItemId(p, i, w + diff);
            }
        }
    }

    /** PageIndexTupleDelete(): removes one item and its line pointer, keeping physical order. */
    public static void indexTupleDelete(byte[] p, int offnum) {
        int w = checkedItem(p, offnum);
        int nline = maxOffsetNumber(p);
        int size = maxAlign(lpLen(w));
        int offset = lpOff(w);
        int from = itemIdOffset(offnum + 1);
        int nbytes = lower(p) - from;
        if (nbytes > 0) {
            System.arraycopy(p, from, p, from - ITEM_ID_SIZE, nbytes);
        }
        setLower(p, lower(p) - ITEM_ID_SIZE);
        closeGap(p, offset, size, nline - 1);
    }

    /**
     * PageIndexMultiDelete(): {@code offnums} sorted ascending. Two or fewer go through
     * {@link #indexTupleDelete} from last to first (physical order kept); more re-pack the page.
     */
    public static void indexMultiDelete(byte[] p, int[] offnums, int n) {
        if (n <= 2) {
            while (--n >= 0) {
                indexTupleDelete(p, offnums[n]);
            }
            return;
        }
        checkPointers(p);
        int nline = maxOffsetNumber(p);
        int upper = upper(p);
        int special = special(p);
        int[] keptWords = new int[nline];
        int[] idx = new int[nline];
        int[] offs = new int[nline];
        int[] lens = new int[nline];
        int nused = 0;
        int next = 0;
        for (int off = 1; off <= nline; off++) {
            int w = itemId(p, off);
            int size = lpLen(w);
            int o = lpOff(w);
            if (o < upper || o + size > special || o != maxAlign(o)) {
                throw new PageCorruptException("corrupted line pointer: offset = " + o + ", size = " + size);
            }
            if (next < n && off == offnums[next]) {
                next++;
            } else {
                keptWords[nused] = w;
                idx[nused] = nused + 1;
                offs[nused] = o;
                lens[nused] = maxAlign(size);
                nused++;
            }
        }
        if (next != n) {
            throw new PageCorruptException("incorrect index offsets supplied");
        }
        for (int i = 0; i < nused; i++) {
            setItemId(p, i + 1, keptWords[i]);
        }
        setLower(p, SIZE_OF_PAGE_HEADER + nused * ITEM_ID_SIZE);
        if (nused == 0) {
            setUpper(p, special);
        } else {
            compactify(p, idx, offs, lens, nused);
        }
    }

    /** PageIndexTupleDeleteNoCompact(): the line pointer becomes unused (or is removed if last); storage is reclaimed. */
    public static void indexTupleDeleteNoCompact(byte[] p, int offnum) {
        int w = checkedItem(p, offnum);
        int nline = maxOffsetNumber(p);
        int size = maxAlign(lpLen(w));
        int offset = lpOff(w);
        if (offnum < nline) {
            setItemId(p, offnum, 0);
        } else {
            setLower(p, lower(p) - ITEM_ID_SIZE);
            nline--;
        }
        closeGap(p, offset, size, nline);
    }

    /**
     * PageIndexTupleOverwrite(): replaces item {@code offnum} with {@code newSize} bytes (the caller
     * MAXALIGNs), moving the tuples below it; lp_flags are kept.
     */
    public static void indexTupleOverwrite(byte[] p, int offnum, byte[] tup, int tupOff, int newSize) {
        int w = checkedItem(p, offnum);
        int nline = maxOffsetNumber(p);
        int offset = lpOff(w);
        int oldSize = maxAlign(lpLen(w));
        int alignedNew = maxAlign(newSize);
        if (alignedNew > oldSize + (upper(p) - lower(p))) {
            throw new PageCorruptException("no room to overwrite item " + offnum + " with " + newSize + " bytes");
        }
        int diff = oldSize - alignedNew;
        if (diff != 0) {
            closeGap(p, offset, diff, nline);
        }
        w = itemId(p, offnum);
        setItemId(p, offnum, makeItemId(offset + diff, lpFlags(w), newSize));
        System.arraycopy(tup, tupOff, p, offset + diff, newSize);
    }

    /** PageGetFreeSpace(). */
    public static int freeSpace(byte[] p) {
        return Math.max(0, upper(p) - lower(p) - ITEM_ID_SIZE);
    }

    /** PageGetHeapFreeSpace(). */
    public static int heapFreeSpace(byte[] p) {
        int space = freeSpace(p);
        if (space > 0) {
            int nline = maxOffsetNumber(p);
            if (nline >= MAX_HEAP_TUPLES_PER_PAGE) {
                boolean found = false;
                if ((flags(p) & PD_HAS_FREE_LINES) != 0) {
                    for (int i = 1; i <= nline && !found; i++) {
                        int w = itemId(p, i);
                        found = lpFlags(w) == LP_UNUSED && lpLen(w) == 0;
                    }
                }
                if (!found) {
                    space = 0;
                }
            }
        }
        return space;
    }
}
