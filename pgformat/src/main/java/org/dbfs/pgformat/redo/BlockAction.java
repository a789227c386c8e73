package org.dbfs.pgformat.redo;

/** XLogRedoAction: what the redo decision did with one block of one record. */
public enum BlockAction {
    /** The record's APPLY image was restored; the routine made no further change. */
    RESTORED,
    /** pd_lsn was already at or past the record's end: nothing changed. */
    DONE,
    /** The routine ran (or initialized the page) and changed it. */
    REDONE
}
