package org.dbfs.pageserver.store;

import org.dbfs.pageserver.journal.Journal;

/**
 * Where an unpacked version's data is: item {@code item} of the pages (or, for a file block, of the
 * file blocks) of the journal record at {@code where}. Also the key of the cache of recent writes.
 */
public record JournalSlot(Journal.Location where, boolean fileBlock, int item) {}
