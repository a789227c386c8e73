package org.dbfs.pageserver.getpage;

import com.github.benmanes.caffeine.cache.Cache;
import org.dbfs.pageserver.store.Caches;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.page.Page;
import org.dbfs.pgformat.redo.BlockAction;
import org.dbfs.pgformat.redo.RedoEngine;
import org.dbfs.pgformat.redo.SmgrTruncate;
import org.dbfs.pgformat.redo.VisibilityMap;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.PageBase;

/**
 * GetPage@LSN: a page as PostgreSQL's redo of every WAL record ending at or before an LSN leaves it.
 *
 * <p>The base is the newest of: a page materialized here before (cached, at an LSN at or below
 * the one asked for), the newest version written to this server with pd_lsn at or below it, and the
 * newest record in the WAL index that restores a full-page image of the page or initialises it.
 * Then the indexed records after the base are redone in order with {@link RedoEngine}, whose skip
 * rule (pd_lsn at or past a record's end) makes re-reading a record the base already holds harmless.
 *
 * <p>Visibility-map pages are the exception to "newest base": heap redo clears VM bits without
 * changing the VM page's pd_lsn, so a stored VM version may hold clears from records after its
 * pd_lsn, even after the LSN asked for. A WAL base is therefore preferred for them, however old,
 * and a stored version used only when the indexed WAL has none.
 *
 * <p>SMGR TRUNCATE clears the truncated heap blocks' bits in the VM page it cuts through, as redo
 * does. Not handled yet: a block truncated away and not re-extended still materializes as its
 * last version; FSM pages (they are not WAL-logged beyond full-page images).
 */
public final class PageMaterializer {
    private final PageImages images;
    private final PageWal wal;
    private final boolean hintBitsLogged;
    private final ThreadLocal<RedoEngine> engines;
    private final Cache<PageId, CachedPage> cache;
    private volatile java.util.function.IntConsumer chains = records -> {};

    private record PageId(RelTag rel, long block) {}

    /** A materialized page: valid at {@code lsn} (every record ending at or before it applied). */
    private record CachedPage(long lsn, byte[] page) {}

    /**
     * @param hintBitsLogged the cluster has data checksums or wal_log_hints (see {@link RedoEngine})
     * @param cachedPages    how many materialized pages to keep (the newest LSN asked for, per page); 0: none
     */
    public PageMaterializer(PageImages images, PageWal wal, boolean hintBitsLogged, long cachedPages) {
        this.images = images;
        this.wal = wal;
        this.hintBitsLogged = hintBitsLogged;
        this.engines = ThreadLocal.withInitial(() -> new RedoEngine(hintBitsLogged));
        this.cache = cachedPages == 0 ? null : Caches.newBuilder().maximumSize(cachedPages).<PageId, CachedPage>build();
    }

    /**
     * A materializer over the same WAL whose stored versions are {@code images}, without a page
     * cache: this one's may hold pages built from versions {@code images} leaves out (a branch's
     * pinned reads, which see only versions from before its cut).
     */
    public PageMaterializer over(PageImages images) {
        return new PageMaterializer(images, wal, hintBitsLogged, 0);
    }

    /** Hears how many records each materialization redid (the metrics' redo chain lengths). */
    public void onMaterialized(java.util.function.IntConsumer recordsRedone) {
        this.chains = recordsRedone;
    }

    /**
     * The page at {@code lsn}.
     *
     * @throws WalNotIndexedException         the WAL service has not indexed up to {@code lsn} within {@code waitMs}
     * @throws PageNotMaterializableException records without a base, or WAL that does not decode
     * @throws org.dbfs.pgformat.redo.UnsupportedRecordException a record in the chain has no Java redo
     * @throws org.dbfs.pgformat.redo.RedoException redo failed where PostgreSQL's would
     */
    public Materialized materialize(RelTag rel, long block, long lsn, long waitMs) {
        if (lsn == 0) {
            throw new IllegalArgumentException("GetPage@LSN needs an LSN, got 0/0");
        }
        PageId id = new PageId(rel, block);
        CachedPage cached = cache == null ? null : cache.getIfPresent(id);
        if (cached != null && cached.lsn() == lsn) {
            return new Materialized(cached.page().clone(), Page.lsn(cached.page()), PageBase.MATERIALIZED, lsn, 0, 0);
        }
        if (cached != null && Long.compareUnsigned(cached.lsn(), lsn) > 0) {
            cached = null;
        }
        boolean vm = rel.forkNum() == ForkNumber.VISIBILITYMAP_FORKNUM.forkNum();
        PageStore.StoredBlock stored = images.newestAtOrBelow(rel, block, lsn);

        // The local base (cache or stored version) and where its records start: at its pd_lsn, since a
        // record that ends at pd_lsn starts before it.
        byte[] page = null;
        PageBase base = PageBase.PAGE_BASE_UNSPECIFIED;
        long baseLsn = 0;
        if (cached != null && (vm || stored == null || Long.compareUnsigned(cached.lsn(), stored.lsn()) >= 0)) {
            page = cached.page().clone();
            base = PageBase.MATERIALIZED;
            baseLsn = cached.lsn();
        } else if (stored != null && !vm) {
            page = stored.data().clone();
            base = PageBase.STORED_IMAGE;
            baseLsn = stored.lsn();
        }
        long from = page == null ? 0 : Page.lsn(page);
        List<WalRecordRef> records = upTo(wal.records(rel, block, from, lsn, true, waitMs), lsn);
        if (!records.isEmpty() && records.getFirst().isBase() && Long.compareUnsigned(records.getFirst().endLsn(), lsn) > 0) {
            // The newest base straddles lsn (an LSN inside a record): it does not count; start from the local base.
            records = upTo(wal.records(rel, block, from, lsn, false, waitMs), lsn);
        }
        if (!records.isEmpty() && records.getFirst().isBase()) {
            page = null; // the WAL's base is newer than (or, for a VM page, preferred to) the local one
            WalRecordRef first = records.getFirst();
            base = first.applyImage() ? PageBase.WAL_IMAGE : PageBase.WAL_INIT;
            baseLsn = first.lsn();
        } else if (page == null && vm && stored != null) {
            page = stored.data().clone();
            base = PageBase.STORED_IMAGE;
            baseLsn = stored.lsn();
            long storedLsn = stored.lsn();
            records = records.stream().filter(r -> Long.compareUnsigned(r.lsn(), storedLsn) >= 0).toList();
        } else if (page == null && records.isEmpty()) {
            return Materialized.absent();
        } else if (page == null && vm) {
            page = new byte[Page.BLCKSZ]; // vm_extend's zero page, initialised as vm_readbuf does
            Page.init(page, 0);
            base = PageBase.EMPTY_VM_PAGE;
        } else if (page == null) {
            throw new PageNotMaterializableException(rel + " block " + block + " at " + Lsn.format(lsn)
                    + ": its first indexed WAL record (" + Lsn.format(records.getFirst().lsn())
                    + ") is neither a full-page image nor a page initialisation, and no version at or below "
                    + Lsn.format(lsn) + " was stored here: the WAL index starts after the page was last written");
        }
        if (page == null) {
            page = new byte[Page.BLCKSZ];
        }
        int redone = 0;
        int skipped = 0;
        RedoEngine engine = engines.get();
        List<DecodedRecord> decoded = wal.read(records);
        for (int i = 0; i < decoded.size(); i++) {
            DecodedRecord rec = decoded.get(i);
            if (records.get(i).vmClear()) {
                for (VisibilityMap.Clear c : VisibilityMap.clearsOf(rec)) {
                    if (c.vmBlock() == block && c.rel().equals(rel)) {
                        VisibilityMap.clear(page, c.heapBlock(), c.flags());
                    }
                }
                SmgrTruncate t = SmgrTruncate.of(rec);
                if (t != null && t.vm() && t.vmPartialBlock() == block
                        && t.rel().withFork(ForkNumber.VISIBILITYMAP_FORKNUM.forkNum()).equals(rel)) {
                    VisibilityMap.truncate(page, t.blkno());
                }
                redone++;
                continue;
            }
            boolean touched = false;
            for (int b = 0; b <= rec.maxBlockId(); b++) {
                if (rec.hasBlockRef(b) && rec.blockNumber(b) == block && rec.relTag(b).equals(rel)) {
                    if (engine.apply(rec, b, page) == BlockAction.DONE) {
                        skipped++;
                    } else {
                        redone++;
                    }
                    touched = true;
                }
            }
            if (!touched) {
                throw new PageNotMaterializableException("the WAL index lists the record at " + Lsn.format(rec.lsn())
                        + " for " + rel + " block " + block + ", but the record has no block reference to it");
            }
        }
        if (cache != null) {
            CachedPage mine = new CachedPage(lsn, page.clone());
            cache.asMap().merge(id, mine, (old, now) -> Long.compareUnsigned(old.lsn(), now.lsn()) >= 0 ? old : now);
        }
        chains.accept(redone);
        return new Materialized(page, Page.lsn(page), base, baseLsn, redone, skipped);
    }

    /** The records that end at or before {@code lsn}: the ones redo to {@code lsn} has applied. */
    private static List<WalRecordRef> upTo(List<WalRecordRef> records, long lsn) {
        List<WalRecordRef> out = new ArrayList<>(records.size());
        for (WalRecordRef r : records) {
            if (Long.compareUnsigned(r.endLsn(), lsn) <= 0) {
                out.add(r);
            }
        }
        return out;
    }
}
