package org.dbfs.walservice.index;

/** What a WAL record does to a page, as far as page reconstruction cares. Bits of an index value's flags byte. */
public final class RecordFlags {
    /** The record carries a full-page image that redo restores (BKPIMAGE_APPLY): a base for the page. */
    public static final int HAS_APPLY_IMAGE = 0x01;
    /** Redo initializes the page from nothing (BKPBLOCK_WILL_INIT): also a base. */
    public static final int WILL_INIT = 0x02;
    /**
     * The record has no block reference to this page but its redo changes it: a heap record that
     * clears visibility-map bits (the entry is keyed by the VM page).
     */
    public static final int VM_CLEAR = 0x04;
    static final int KNOWN = HAS_APPLY_IMAGE | WILL_INIT | VM_CLEAR;

    private RecordFlags() {}

    /** A record a reconstruction can start from without an older page version. */
    public static boolean isBase(int flags) {
        return (flags & (HAS_APPLY_IMAGE | WILL_INIT)) != 0;
    }
}
