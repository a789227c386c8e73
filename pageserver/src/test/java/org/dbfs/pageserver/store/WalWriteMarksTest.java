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
}
