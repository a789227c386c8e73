package org.dbfs.fuse;

import org.dbfs.protocol.pageserver.v1.NodeAttr;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HardLinkNamesTest {

    private final HardLinkNames names = new HardLinkNames();

    @Test
    void aLinkMakesTheSourceNameStaleAndBothKnown() {
        seen("/a", 7, 1);
        assertEquals(0, names.size(), "a file with one link is not kept");
        assertEquals(List.of("/a"), names.linked("/a", "/d/b", 7));
        assertEquals(List.of("/d/b"), names.othersOf(7, "/a"));
        assertEquals(List.of("/a", "/d/b"), names.othersOf(7, ""), "through a lost path: every name");
        assertEquals(List.of(), names.othersOf(8, "/x"));
    }

    @Test
    void unlinkLeavesTheOtherNamesStaleAndTheLastGoesWithoutATrace() {
        seen("/a", 7, 3);
        seen("/b", 7, 3);
        seen("/c", 7, 3);
        assertEquals(List.of("/a", "/c"), names.unlinked("/b"));
        assertEquals(List.of("/c"), names.unlinked("/a"));
        assertEquals(List.of(), names.unlinked("/c"));
        assertEquals(0, names.size());
        assertEquals(List.of(), names.unlinked("/never-seen"));
    }

    @Test
    void renameMovesANameAndStalesTheMovedAndTheReplacedFilesOtherNames() {
        names.linked("/a", "/b", 7);
        names.linked("/x", "/y", 9);
        assertEquals(List.of("/y", "/a"), names.renamed("/b", "/x"), "x's file lost a link, b's file got a ctime");
        assertEquals(List.of("/x"), names.othersOf(7, "/a"));
        assertEquals(List.of("/y"), names.othersOf(9, "/nothing"));
        assertEquals(List.of(), names.renamed("/a", "/x"), "two names of one file: nothing happens");
        assertEquals(List.of("/a"), names.othersOf(7, "/x"));
    }

    @Test
    void namesInARenamedDirectoryMoveAlong() {
        names.linked("/d/a", "/d/e/b", 7);
        names.linked("/dx/c", "/c", 9);
        assertEquals(List.of(), names.renamed("/d", "/f/g"));
        assertEquals(List.of("/f/g/e/b"), names.othersOf(7, "/f/g/a"));
        assertEquals(List.of("/dx/c"), names.othersOf(9, "/c"), "a sibling with a common prefix stays");
    }

    @Test
    void oneLinkSeenAgainForgetsTheFileUnlessANamespaceChangeRacedWithTheFetch() {
        names.linked("/a", "/b", 7);
        long before = names.version();
        names.unlinked("/zzz"); // any namespace change in between
        seen("/a", 7, 1, before);
        assertEquals(List.of("/b"), names.othersOf(7, "/a"), "a getattr older than the change is not believed");
        seen("/a", 7, 1, names.version());
        assertEquals(0, names.size());
    }

    @Test
    void aNameOfAnotherFileReplacesTheOldOneAndDirectoriesAreNeverKept() {
        names.linked("/a", "/b", 7);
        seen("/b", 9, 2);
        assertEquals(List.of(), names.othersOf(7, "/a"));
        assertEquals(List.of("/b"), names.othersOf(9, "/x"));
        names.seen("/dir", NodeAttr.newBuilder().setIno(11).setType(NodeType.DIRECTORY).setNlink(3).build(), names.version());
        assertEquals(List.of(), names.othersOf(11, "/x"), "a directory's nlink counts its subdirectories");
    }

    @Test
    void beyondTheLimitNewNamesAreNotKept() {
        for (int i = 0; i < HardLinkNames.MAX_NAMES / 2; i++) {
            names.linked("/a" + i, "/b" + i, i);
        }
        assertEquals(List.of(), names.linked("/c", "/d", -1));
        assertEquals(HardLinkNames.MAX_NAMES, names.size());
        names.unlinked("/a0");
        assertEquals(List.of("/c"), names.linked("/c", "/d", -1), "room again: c goes in, d does not");
    }

    private void seen(String path, long ino, int nlink) {
        seen(path, ino, nlink, names.version());
    }

    private void seen(String path, long ino, int nlink, long version) {
        names.seen(path, NodeAttr.newBuilder().setIno(ino).setType(NodeType.REGULAR).setNlink(nlink).build(), version);
    }
}
