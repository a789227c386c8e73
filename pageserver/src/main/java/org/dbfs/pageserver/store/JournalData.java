package org.dbfs.pageserver.store;

import com.github.benmanes.caffeine.cache.Cache;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.journal.Journal;

/**
 * The bytes of unpacked versions. They are in the journal; the latest writes are also kept in a
 * bounded cache, since reads of what was just written are common, and the rest are read back.
 */
final class JournalData {
    private final Cache<JournalSlot, byte[]> recent;

    JournalData(long recentBytes) {
        this.recent = Caches.newBuilder().maximumWeight(recentBytes).weigher((JournalSlot k, byte[] v) -> v.length).build();
    }

    /** A write just journaled at {@code slot}. */
    void written(JournalSlot slot, byte[] data) {
        recent.put(slot, data);
    }

    /**
     * The data at {@code slot}.
     *
     * @throws Journal.RecordGoneException if its journal file was retired: the version is packed by now
     */
    byte[] read(Journal journal, JournalSlot slot) throws Journal.RecordGoneException {
        byte[] data = recent.getIfPresent(slot);
        if (data == null) {
            data = dataOf(readRecord(journal, slot.where()), slot);
            recent.put(slot, data);
        }
        return data;
    }

    /**
     * The data of unpacked versions, for the packer (null for tombstones): from the cache, else read
     * back in journal order, one record at a time, so that a pack holds its own data and one record,
     * not every record it touches.
     */
    byte[][] forPack(Journal journal, List<VersionRef> refs) throws IOException {
        byte[][] out = new byte[refs.size()][];
        List<Integer> misses = new ArrayList<>();
        for (int i = 0; i < refs.size(); i++) {
            JournalSlot slot = refs.get(i).version().unpacked();
            if (slot != null && (out[i] = recent.getIfPresent(slot)) == null) {
                misses.add(i);
            }
        }
        misses.sort(Comparator.comparing((Integer i) -> refs.get(i).version().unpacked().where().file())
                .thenComparingLong(i -> refs.get(i).version().unpacked().where().position()));
        JournalRecord record = null;
        Journal.Location at = null;
        for (int i : misses) {
            JournalSlot slot = refs.get(i).version().unpacked();
            if (!slot.where().equals(at)) {
                at = slot.where();
                record = journal.read(at);
            }
            out[i] = dataOf(record, slot);
        }
        return out;
    }

    /** Bytes held in memory now. */
    long bytesInMemory() {
        recent.cleanUp();
        return recent.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    }

    private static JournalRecord readRecord(Journal journal, Journal.Location where) throws Journal.RecordGoneException {
        try {
            return journal.read(where);
        } catch (Journal.RecordGoneException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("reading back journal record " + where + ": " + e.getMessage(), e);
        }
    }

    private static byte[] dataOf(JournalRecord r, JournalSlot slot) {
        return (slot.fileBlock() ? r.getFileBlocks(slot.item()).getData() : r.getPages(slot.item()).getData()).toByteArray();
    }
}
