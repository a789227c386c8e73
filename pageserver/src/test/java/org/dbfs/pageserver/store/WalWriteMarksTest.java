package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WalWriteMarksTest {
    @Test
    void theFirstWritePastAnLsnIsFoundAndOnlyRisesAreKept() {
        WalWriteMarks marks = new WalWriteMarks();
        marks.written(1, 10, 100);
        marks.written(1, 11, 90); // a rewrite of an older page: the end did not rise
        marks.written(1, 12, 250);
        marks.written(1, 13, 400);
        assertEquals(3, marks.size());
        assertEquals(12, marks.firstSeqPast(1, 200));
        assertEquals(12, marks.firstSeqPast(1, 100));
        assertEquals(10, marks.firstSeqPast(1, 99));
        assertEquals(0, marks.firstSeqPast(1, 400), "nothing written past the end");
        assertEquals(0, marks.firstSeqPast(2, 200), "marks of another timeline say nothing of this one");

        marks.trimAtOrBelow(250); // the WAL service made WAL up to 250 durable: no branch before it
        assertEquals(13, marks.firstSeqPast(1, 300));
        assertEquals(1, marks.size());
        marks.written(1, 14, 300); // below the last end kept: not a rise
        assertEquals(1, marks.size());

        marks.written(2, 20, 50); // the next timeline's writer starts its own marks
        assertEquals(2, marks.timeline());
        assertEquals(20, marks.firstSeqPast(2, 10));
        marks.trimAtOrBelow(-1L); // no WAL service: only the running end is kept
        assertEquals(1, marks.size());
    }

    @Test
    void pastItsBoundTheMarksMergeSoThatACutOnlyMovesEarlier() {
        WalWriteMarks marks = new WalWriteMarks();
        for (int i = 0; i <= WalWriteMarks.MAX_MARKS; i++) {
            marks.written(1, 1000 + i, 10L * (i + 1));
        }
        assertTrue(marks.size() <= WalWriteMarks.MAX_MARKS, "bounded: " + marks.size());
        for (long lsn : new long[] {5, 15, 25, 12345, 10L * WalWriteMarks.MAX_MARKS - 3}) {
            long exact = 1000 + lsn / 10; // the first write whose end 10 * (i + 1) is past lsn
            long found = marks.firstSeqPast(1, lsn);
            assertTrue(found != 0 && found <= exact, "cut for " + lsn + ": " + found + " <= " + exact);
            assertTrue(exact - found <= 1, "and at most one write early: " + found + " vs " + exact);
        }
    }

    @Test
    void aBranchCutIsToldOnlyWhereTheMarksStillReachBack() {
        WalWriteMarks marks = new WalWriteMarks();
        marks.written(1, 10, 100);
        marks.written(1, 20, 200);
        marks.written(1, 30, 300);
        assertEquals(20, marks.firstSeqPastIfKnown(1, 150));
        assertEquals(0, marks.firstSeqPastIfKnown(1, 300), "never past: every write so far is before it");
        assertEquals(-1, marks.firstSeqPastIfKnown(2, 150), "another timeline's marks say nothing");
        assertEquals(200, marks.endAt(1, 25));
        assertEquals(0, marks.endAt(1, 5), "before the first mark: not known");

        marks.trimAtOrBelow(250); // drops 100 and 200
        assertEquals(-1, marks.firstSeqPastIfKnown(1, 150), "a dropped mark may have been the first past 150");
        assertEquals(30, marks.firstSeqPastIfKnown(1, 200), "every dropped mark is at or below 200: still exact");
        assertEquals(0, marks.endAt(1, 25), "the mark that told is gone");
        assertEquals(300, marks.endAt(1, 35));

        WalWriteMarks restarted = new WalWriteMarks();
        restarted.load(1, marks.upTo(30));
        assertEquals(-1, restarted.firstSeqPastIfKnown(1, 250), "below the first mark the manifest kept");
        assertEquals(0, restarted.firstSeqPastIfKnown(1, 300));
        WalWriteMarks withoutMarks = new WalWriteMarks();
        withoutMarks.load(1, java.util.List.of());
        assertEquals(-1, withoutMarks.firstSeqPastIfKnown(1, 300));
        withoutMarks.written(1, 40, 400); // WAL is written in order: above whatever was dropped before
        withoutMarks.written(1, 50, 500);
        assertEquals(50, withoutMarks.firstSeqPastIfKnown(1, 400));
        assertEquals(-1, withoutMarks.firstSeqPastIfKnown(1, 399));
    }
}
