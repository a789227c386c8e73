package org.dbfs.walservice.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local WAL segments go once archived and indexed; the one holding the oldest needed byte stays. */
class LocalSegmentRetirerTest {
    static final WalSegments SEGS = new WalSegments(1 << 20);

    @TempDir
    Path dir;

    List<String> files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void segmentsBelowTheArchivedAndIndexedPositionsAreDeleted() throws Exception {
        for (long segno = 2; segno <= 6; segno++) {
            Files.write(dir.resolve(SEGS.fileName(1, segno)), new byte[16]);
        }
        Files.write(dir.resolve("position"), new byte[4]); // not a segment: never touched
        WalPositions positions = new WalPositions();
        positions.layout(new DurablePosition(1, 1, SEGS.segmentSize(), 2L << 20, 6L << 20));
        LocalSegmentRetirer retirer = new LocalSegmentRetirer(dir, positions, true);

        positions.archived((5L << 20) + 100);
        positions.indexed((3L << 20) + 5);
        assertEquals(1, retirer.retire(), "segment 2 only: the indexer still reads segment 3");
        assertEquals(SEGS.fileName(1, 3), files().getFirst());

        positions.indexed(6L << 20);
        assertEquals(2, retirer.retire(), "segments 3 and 4: 5 holds the archive's end");
        assertEquals(List.of(SEGS.fileName(1, 5), SEGS.fileName(1, 6), "position"), files());
        assertEquals(0, retirer.retire());
        assertEquals(5, SEGS.segmentNumber(SEGS.fileName(1, 5)));
        assertEquals(0x1FFL * 4096 + 3, SEGS.segmentNumber(SEGS.fileName(1, 0x1FFL * 4096 + 3)), "names parse back");
    }
}
