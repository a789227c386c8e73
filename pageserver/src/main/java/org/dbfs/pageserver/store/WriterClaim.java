package org.dbfs.pageserver.store;

import java.time.Instant;
import java.util.Optional;
import org.dbfs.bucket.cli.RefusedStartException;
import org.dbfs.bucket.lease.Lease;
import org.dbfs.bucket.lease.LeaseLostException;
import org.dbfs.bucket.lease.LeaseStore;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.UnpackedWrites;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this page server may become the bucket's one writer, and taking its lease if so. Refuses,
 * before anything local or in the bucket is changed:
 * <ul>
 *   <li>while another page server holds a live lease (it is writing, or died less than a lease's
 *       time ago), unless that lease names this very journal (the same cache directory, restarted);
 *   <li>when the manifest says acknowledged writes above its packed position live in a journal
 *       that is not this one: serving the bucket would be a silent rewind. An operator can accept
 *       that loss explicitly ({@code --accept-journal-loss}); never by default.
 * </ul>
 */
final class WriterClaim {
    private static final Logger log = LoggerFactory.getLogger(WriterClaim.class);

    private WriterClaim() {}

    /** Who is asking: this process and its journal. */
    record Claimant(String holder, String journal, String cacheDir, boolean acceptJournalLoss) {}

    static LeaseStore.Held claim(LeaseStore leases, Manifest manifest, Claimant me, String bucket) {
        Optional<LeaseStore.Current> current = leases.read();
        Instant now = leases.now();
        UnpackedWrites dirty = manifest.hasUnpacked() ? manifest.getUnpacked() : null;
        boolean dirtyElsewhere = dirty != null && !dirty.getJournal().equals(me.journal());
        if (current.isPresent()) {
            Lease held = current.get().lease();
            if (held.liveAt(now) && !held.journal().equals(me.journal())) {
                throw new RefusedStartException("another page server is writing to bucket " + bucket
                        + " (writer lease: " + held.describe() + "). One bucket has one writer: stop that page server"
                        + " first (a clean stop packs its journal and releases the lease); if it died, restart it with"
                        + " --cache-dir " + held.cacheDir() + " on its host, or wait until the lease expires."
                        + (dirtyElsewhere ? " " + missingJournal(manifest, dirty, me, bucket) : ""));
            }
        }
        if (dirtyElsewhere) {
            if (!me.acceptJournalLoss()) {
                throw new RefusedStartException(missingJournal(manifest, dirty, me, bucket));
            }
            log.warn("ACCEPTING JOURNAL LOSS (--accept-journal-loss): bucket {} is packed up to journal seq {}; the"
                    + " acknowledged writes after it, in journal {} of {} (cache directory {}), are given up for good",
                    bucket, manifest.getPackedSeq(), dirty.getJournal(), dirty.getHolder(), dirty.getCacheDir());
        }
        try {
            return leases.take(current.orElse(null), manifest.getWriterGeneration(), me.holder(), me.journal(),
                    me.cacheDir());
        } catch (LeaseLostException e) {
            throw new RefusedStartException("another page server took the writer lease of bucket " + bucket
                    + " while this one was starting: " + e.getMessage());
        }
    }

    private static String missingJournal(Manifest manifest, UnpackedWrites dirty, Claimant me, String bucket) {
        return "Bucket " + bucket + " holds acknowledged writes that were never packed: they are only in journal "
                + dirty.getJournal() + " of page server " + dirty.getHolder() + " (its --cache-dir "
                + dirty.getCacheDir() + "), and this page server's cache directory " + me.cacheDir()
                + " holds journal " + me.journal() + ". The bucket alone is packed up to journal seq "
                + manifest.getPackedSeq() + " (manifest version " + manifest.getGeneration() + "); serving it would"
                + " silently rewind the database. Start the page server on that host with --cache-dir "
                + dirty.getCacheDir() + " to pack them (a clean stop then leaves the bucket complete). If that"
                + " journal is gone for good, --accept-journal-loss starts on the packed state and gives up"
                + " every write after seq " + manifest.getPackedSeq() + " (PostgreSQL's data directory on it is then"
                + " older than its WAL: restore it, don't run it).";
    }
}
