package org.dbfs.walservice.index;

/** One index entry for a page: a WAL record that touches it. See {@link PageRef} for the fields. */
public record IndexedRecord(long lsn, long endLsn, int length, int flags) {
    public boolean hasApplyImage() {
        return (flags & RecordFlags.HAS_APPLY_IMAGE) != 0;
    }

    public boolean willInit() {
        return (flags & RecordFlags.WILL_INIT) != 0;
    }

    public boolean vmClear() {
        return (flags & RecordFlags.VM_CLEAR) != 0;
    }
}
