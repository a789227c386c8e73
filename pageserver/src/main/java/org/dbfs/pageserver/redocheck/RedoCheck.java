package org.dbfs.pageserver.redocheck;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.page.PageBytes;
import org.dbfs.pgformat.page.PageCorruptException;
import org.dbfs.pgformat.redo.BlockAction;
import org.dbfs.pgformat.redo.Masking;
import org.dbfs.pgformat.redo.RedoEngine;
import org.dbfs.pgformat.redo.RedoException;
import org.dbfs.pgformat.redo.SmgrTruncate;
import org.dbfs.pgformat.redo.UnsupportedRecordException;
import org.dbfs.pgformat.redo.VisibilityMap;
import org.dbfs.pgformat.wal.BlockImages;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;

/**
 * Verifies the native redo engine against WAL that PostgreSQL wrote with
 * {@code wal_consistency_checking}: for every block reference, the block's latest known page is
 * redone with {@link RedoEngine} and compared, after the resource manager's mask, with the
 * post-image PostgreSQL logged for that record (the image without BKPIMAGE_APPLY).
 *
 * <p>The latest known page of a block is the logged post-image of its previous record (pd_lsn set
 * to that record's end), a restored APPLY image, or the engine's own result when no image was
 * logged. A record's own logged image is never an input to its redo. Not thread-safe.
 */
public final class RedoCheck {
    /** Per record type ("Heap/INSERT"). */
    public static final class Counts {
        public long verified;
        public long mismatched;
        public long unsupported;
        public long skipped;
        public long restored;
        public long unchecked;
    }

    /** One block whose redo differs from PostgreSQL's image after masking. */
    public record Mismatch(long lsn, String type, int blockId, String block, int offset, String detail) {
        @Override
        public String toString() {
            return "MISMATCH at " + Lsn.format(lsn) + " " + type + " block " + blockId + " (" + block + ")"
                    + (offset >= 0 ? " first differing offset " + offset : "") + (detail == null ? "" : ": " + detail);
        }
    }

    private record Key(RelTag rel, long blk) {
        @Override
        public String toString() {
            return Integer.toUnsignedString(rel.spcNode()) + "/" + Integer.toUnsignedString(rel.dbNode()) + "/"
                    + Integer.toUnsignedString(rel.relNode()) + " fork " + rel.forkNum() + " blk " + blk;
        }
    }

    private static final int MAIN_FORK = ForkNumber.MAIN_FORKNUM.forkNum();
    private static final int FSM_FORK = ForkNumber.FSM_FORKNUM.forkNum();
    private static final int VM_FORK = ForkNumber.VISIBILITYMAP_FORKNUM.forkNum();

    /** What is checked: {@link RedoEngine#apply} (tests substitute a broken one to see the check fail). */
    @FunctionalInterface
    public interface BlockRedo {
        BlockAction apply(DecodedRecord rec, int blockId, byte[] page);
    }

    private final BlockRedo engine;
    private final Map<Key, byte[]> pages = new HashMap<>();
    private final Map<String, Counts> byType = new TreeMap<>();
    private final List<Mismatch> mismatches = new ArrayList<>();
    private final byte[] logged = new byte[Page.BLCKSZ];
    private final byte[] scratch = new byte[Page.BLCKSZ];
    private long records;

    public RedoCheck(BlockRedo engine) {
        this.engine = engine;
    }

    /** Checks every record of the segment files in {@code walDir}, from the first record of the first segment. */
    public static RedoCheck run(Path walDir) throws IOException {
        return run(walDir, new RedoEngine(false)::apply);
    }

    /** {@link #run(Path)} with another redo implementation. */
    public static RedoCheck run(Path walDir, BlockRedo engine) throws IOException {
        Path first;
        try (Stream<Path> files = Files.list(walDir)) {
            first = files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).sorted().findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no WAL segment files in " + walDir));
        }
        byte[] header = new byte[40];
        try (var in = Files.newInputStream(first)) {
            if (in.readNBytes(header, 0, 40) != 40) {
                throw new IllegalArgumentException("segment too short: " + first);
            }
        }
        long sysid = PageBytes.i64(header, 24);
        int segSize = PageBytes.i32(header, 32);
        String name = first.getFileName().toString();
        int tli = Lsn.timelineOfFileName(name);
        long start = Lsn.segmentStart(Lsn.segmentNumberOfFileName(name, segSize), segSize);
        RedoCheck check = new RedoCheck(engine);
        check.check(WalReader.findFirstRecord(new SegmentDirectorySource(walDir, tli, segSize, 0), start, segSize, sysid));
        return check;
    }

    /** Checks every record {@code reader} returns until the end of WAL. */
    public void check(WalReader reader) {
        for (WalReadResult res = reader.next(); res instanceof DecodedRecord rec; res = reader.next()) {
            records++;
            sideEffects(rec);
            for (int id = 0; id <= rec.maxBlockId(); id++) {
                if (rec.hasBlockRef(id)) {
                    checkBlock(rec, id);
                }
            }
        }
    }

    private Counts counts(DecodedRecord rec) {
        return byType.computeIfAbsent(rec.rmgrName() + "/" + rec.recordTypeName(), k -> new Counts());
    }

    private static Key key(DecodedRecord rec, int id) {
        return new Key(rec.relTag(id), rec.blockNumber(id));
    }

    /** VM clears implied by heap records, and relation truncation, on the pages known so far. */
    private void sideEffects(DecodedRecord rec) {
        for (VisibilityMap.Clear c : VisibilityMap.clearsOf(rec)) {
            byte[] vm = pages.get(new Key(c.rel(), c.vmBlock()));
            if (vm != null) {
                VisibilityMap.clear(vm, c.heapBlock(), c.flags());
            }
        }
        SmgrTruncate t = SmgrTruncate.of(rec);
        if (t != null) {
            RelTag main = t.rel();
            pages.keySet().removeIf(k -> k.rel.withFork(MAIN_FORK).equals(main)
                    && ((k.rel.forkNum() == MAIN_FORK && t.heap() && k.blk >= t.blkno())
                    || (k.rel.forkNum() == VM_FORK && t.vm() && k.blk >= t.vmBlocksKept())
                    || (k.rel.forkNum() == FSM_FORK && t.fsm())));
            if (t.vm() && t.vmPartialBlock() >= 0) {
                byte[] vm = pages.get(new Key(main.withFork(VM_FORK), t.vmPartialBlock()));
                if (vm != null) {
                    VisibilityMap.truncate(vm, t.blkno());
                }
            }
        }
    }

    private void checkBlock(DecodedRecord rec, int id) {
        Counts c = counts(rec);
        Key key = key(rec, id);
        boolean apply = rec.hasImage(id) && rec.imageApply(id);
        boolean hasCheckImage = rec.hasImage(id) && !apply;
        byte[] base = pages.get(key);
        if (base == null && !apply && !rec.willInit(id)) {
            c.skipped++;
            keepLogged(rec, id, key);
            return;
        }
        byte[] work = base == null ? new byte[Page.BLCKSZ] : base.clone();
        BlockAction action;
        try {
            action = engine.apply(rec, id, work);
        } catch (UnsupportedRecordException e) {
            c.unsupported++;
            pages.remove(key);
            keepLogged(rec, id, key);
            return;
        } catch (RedoException | PageCorruptException | IndexOutOfBoundsException e) {
            c.mismatched++;
            mismatches.add(new Mismatch(rec.lsn(), typeName(rec), id, key.toString(), -1, e.toString()));
            pages.remove(key);
            keepLogged(rec, id, key);
            return;
        }
        if (action == BlockAction.RESTORED) {
            c.restored++;
            pages.put(key, work);
            return;
        }
        if (!hasCheckImage) {
            c.unchecked++;
            pages.put(key, work);
            return;
        }
        BlockImages.restoreBlockImage(rec, id, logged, 0, scratch);
        int diff = firstMaskedDifference(rec.rmid(), key, work, logged);
        if (diff < 0) {
            c.verified++;
        } else {
            c.mismatched++;
            mismatches.add(new Mismatch(rec.lsn(), typeName(rec), id, key.toString(), diff, null));
        }
        keepLogged(rec, id, key);
    }

    private static String typeName(DecodedRecord rec) {
        return rec.rmgrName() + "/" + rec.recordTypeName();
    }

    /** The record's logged post-image becomes the block's latest known page, with pd_lsn = the record's end. */
    private void keepLogged(DecodedRecord rec, int id, Key key) {
        if (!rec.hasImage(id)) {
            return;
        }
        byte[] p = new byte[Page.BLCKSZ];
        BlockImages.restoreBlockImage(rec, id, p, 0, scratch);
        if (!Page.isNew(p)) {
            Page.setLsn(p, rec.endLsn());
        }
        pages.put(key, p);
    }

    /** The first offset where the two pages differ after masking, or -1. */
    private static int firstMaskedDifference(int rmid, Key k, byte[] mine, byte[] theirs) {
        byte[] a = mine.clone();
        byte[] b = theirs.clone();
        try {
            Masking.mask(rmid, k.rel.forkNum(), k.blk, a);
            Masking.mask(rmid, k.rel.forkNum(), k.blk, b);
        } catch (PageCorruptException e) {
            return java.util.Arrays.mismatch(mine, theirs);
        }
        return java.util.Arrays.mismatch(a, b);
    }

    public long records() {
        return records;
    }

    public Map<String, Counts> byType() {
        return byType;
    }

    public List<Mismatch> mismatches() {
        return mismatches;
    }

    public long verified() {
        return byType.values().stream().mapToLong(x -> x.verified).sum();
    }

    public long mismatched() {
        return byType.values().stream().mapToLong(x -> x.mismatched).sum();
    }

    public long unsupported() {
        return byType.values().stream().mapToLong(x -> x.unsupported).sum();
    }

    /** Record types with at least one unsupported block reference. */
    public List<String> unsupportedTypes() {
        return byType.entrySet().stream().filter(e -> e.getValue().unsupported > 0).map(Map.Entry::getKey).toList();
    }

    /** The per-type table, up to {@code maxMismatches} mismatch lines, then the summary line. */
    public void print(PrintWriter out, int maxMismatches) {
        out.printf("%-28s %10s %10s %11s %9s %9s %9s%n", "record type", "verified", "mismatched", "unsupported",
                "skipped", "restored", "unchecked");
        byType.forEach((type, c) -> out.printf("%-28s %10d %10d %11d %9d %9d %9d%n", type, c.verified, c.mismatched,
                c.unsupported, c.skipped, c.restored, c.unchecked));
        mismatches.stream().limit(maxMismatches).forEach(out::println);
        out.printf("records=%d%n", records);
        out.printf("verified=%d mismatched=%d unsupported=%d%n", verified(), mismatched(), unsupported());
        out.flush();
    }
}
