package org.dbfs.fuse;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DurabilityTrackerTest {

    @Test
    void nothingToSyncUntilANonDurableWrite() {
        DurabilityTracker t = new DurabilityTracker();
        assertTrue(t.pending().nothingToSync());
        t.acknowledged(7, true);
        assertTrue(t.pending().nothingToSync());
        t.acknowledged(7, false);
        assertEquals(7, t.pending().incarnation());
    }

    @Test
    void syncClearsOnlyWhatItCovered() {
        DurabilityTracker t = new DurabilityTracker();
        t.acknowledged(7, false);
        DurabilityTracker.Pending p = t.pending();
        t.acknowledged(7, false); // arrives while the Sync is in flight: maybe not covered
        t.synced(p);
        assertEquals(7, t.pending().incarnation());
        DurabilityTracker.Pending q = t.pending();
        t.synced(q);
        assertTrue(t.pending().nothingToSync());
    }

    @Test
    void restartWithPendingWritesIsALossReportedOnce() {
        DurabilityTracker t = new DurabilityTracker();
        t.acknowledged(7, false);
        t.acknowledged(8, false); // the page server restarted: incarnation 7's unsynced writes may be gone
        DurabilityTracker.Pending p = t.pending();
        assertTrue(p.lost());
        t.lossReported(p);
        DurabilityTracker.Pending after = t.pending();
        assertFalse(after.lost());
    }

    @Test
    void restartAfterEverythingWasSyncedIsNoLoss() {
        DurabilityTracker t = new DurabilityTracker();
        t.acknowledged(7, false);
        t.synced(t.pending());
        t.acknowledged(8, false);
        assertFalse(t.pending().lost());
        assertEquals(8, t.pending().incarnation());
    }
}
