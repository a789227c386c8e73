package org.dbfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read-only mount's overlay: a fresh copy starts over an unfinished one, never over a data
 * directory it did not make, and a time-travel mount's point survives in replica.properties.
 */
class ReplicaOverlayTest {
    @TempDir
    Path tmp;

    @Test
    void aCopyStartsOverAnUnfinishedOneAndRecordsATimeTravelPoint() throws IOException {
        ReplicaOverlay overlay = new ReplicaOverlay(tmp.resolve("overlay"));
        Files.createDirectories(overlay.partial().resolve("base"));
        Files.writeString(overlay.partial().resolve("base/leftover"), "from a copy that died");
        Path into = overlay.startCopy();
        assertEquals(overlay.partial(), into);
        assertFalse(Files.exists(into), "the unfinished copy is gone");
        Files.createDirectories(into);
        ReplicaOverlay.Snapshot made = new ReplicaOverlay.Snapshot(0x3000, 1, 42, "ps:1", Instant.parse("2026-12-06T00:00:00Z"),
                "timetravel-x", 0x4000);
        overlay.commit(made);
        assertEquals(made, overlay.snapshot());
        assertTrue(overlay.snapshot().isTimeTravel());
    }

    @Test
    void aDataDirectoryTheMountDidNotMakeIsRefused() throws IOException {
        ReplicaOverlay overlay = new ReplicaOverlay(tmp.resolve("overlay"));
        Files.createDirectories(overlay.data());
        IOException e = assertThrows(IOException.class, overlay::startCopy);
        assertTrue(e.getMessage().contains("use a fresh --overlay-dir"), e.getMessage());
        assertTrue(Files.exists(overlay.data()), "nothing was removed");
    }
}
