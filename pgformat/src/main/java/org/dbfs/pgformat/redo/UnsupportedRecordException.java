package org.dbfs.pgformat.redo;

/** The engine has no redo routine for this record type; the page would otherwise be silently wrong. */
public final class UnsupportedRecordException extends RuntimeException {
    private final String rmgrName;
    private final String recordType;

    public UnsupportedRecordException(String rmgrName, String recordType) {
        super("no native redo for " + rmgrName + "/" + recordType);
        this.rmgrName = rmgrName;
        this.recordType = recordType;
    }

    public String rmgrName() {
        return rmgrName;
    }

    public String recordType() {
        return recordType;
    }
}
