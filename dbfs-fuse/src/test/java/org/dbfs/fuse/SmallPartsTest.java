package org.dbfs.fuse;

import org.junit.jupiter.api.Test;

import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmallPartsTest {

    @Test
    void tablespaceLinksIntoTheMountAreRecognised() {
        TablespaceDirectory t = new TablespaceDirectory("/mnt/pg");
        t.symlinkCreated("/pg_tblspc/16400", "/mnt/pg/spaces/fast");
        t.symlinkCreated("/pg_tblspc/16401", "/elsewhere/slow");
        t.symlinkCreated("/other/16402", "/mnt/pg/spaces/x");
        assertEquals(OptionalLong.of(16400), t.spcNodeOf("spaces/fast"));
        assertEquals(OptionalLong.empty(), t.spcNodeOf("elsewhere/slow"));
        assertEquals(OptionalLong.empty(), t.spcNodeOf("spaces/x"));
        t.removed("/pg_tblspc/16400");
        assertEquals(OptionalLong.empty(), t.spcNodeOf("spaces/fast"));
    }

    @Test
    void truncateGrowsWithAHoleAndNeverCreatesAFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path f = java.nio.file.Files.writeString(tmp.resolve("16384"), "x");
        LibcTruncate.truncate(f, 1 << 30);
        assertEquals(1L << 30, java.nio.file.Files.size(f));
        java.nio.file.Path gone = tmp.resolve("16385");
        org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.NoSuchFileException.class,
                () -> LibcTruncate.truncate(gone, 8192));
        assertFalse(java.nio.file.Files.exists(gone), "an unlinked relation file is not brought back");
        LibcTruncate.truncate(f, 1);
        assertEquals("x", java.nio.file.Files.readString(f));
    }

    @Test
    void hiddenNamesAreLibfusesOnly() {
        assertTrue(HiddenFiles.isHiddenName("/base/5/.fuse_hidden0000000a00000001"));
        assertFalse(HiddenFiles.isHiddenName("/base/5/16384"));
        assertFalse(HiddenFiles.isHiddenName("/.fuse_hidden_dir/file"));
        HiddenFiles h = new HiddenFiles();
        h.add("/d/.fuse_hidden1", 42);
        assertEquals(OptionalLong.of(42), h.ino("/d/.fuse_hidden1"));
        assertTrue(h.hides(42));
        h.forget(42);
        assertFalse(h.hides(42));
        assertEquals(OptionalLong.empty(), h.ino("/d/.fuse_hidden1"));
    }

    @Test
    void nodeIdsComeOnlyFromFuseFileHandles(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            assertEquals(OptionalLong.empty(), new FuseNodeIds(tmp).of("", arena), "another file system's handle");
            assertEquals(OptionalLong.empty(), new FuseNodeIds(tmp).of("/missing", arena));
        }
    }

    @Test
    void mountinfoEscapes() {
        assertEquals("/tmp/with space\\x", MountTable.unescape("/tmp/with\\040space\\134x"));
        assertEquals("/plain", MountTable.unescape("/plain"));
    }

    @Test
    void pageLsnsOfWholePages() {
        byte[] pages = new byte[2 * 8192];
        org.dbfs.pgformat.PageHeader.PageSetLSN(pages, 8192, 0x5_0000_0010L);
        assertArrayEquals(new long[]{0, 0x5_0000_0010L}, FileWrites.pageLsns(pages));
        assertTrue(FileWrites.isWholePages(8192, 16384));
        assertFalse(FileWrites.isWholePages(8192, 100));
        assertFalse(FileWrites.isWholePages(10, 8192));
    }
}
