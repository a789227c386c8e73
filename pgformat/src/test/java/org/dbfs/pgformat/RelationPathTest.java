package org.dbfs.pgformat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RelationPathTest {

    private static RelationSegmentFile parsed(String path) {
        return RelationPath.parse(path).orElseThrow(() -> new AssertionError("not a relation file: " + path));
    }

    @Test
    void sharedCatalogIsInGlobalTablespaceWithDatabaseZero() {
        RelationSegmentFile f = parsed("global/1262");
        assertEquals(new RelTag(1664, 0, 1262, ForkNumber.MAIN_FORKNUM.forkNum()), f.rel());
        assertEquals(ForkNumber.MAIN_FORKNUM, f.forkNum());
        assertEquals(0, f.segno());
    }

    @Test
    void baseIsDefaultTablespace() {
        RelationSegmentFile f = parsed("/base/5/16384");
        assertEquals(new RelTag(1663, 5, 16384, ForkNumber.MAIN_FORKNUM.forkNum()), f.rel());
        assertEquals(ForkNumber.MAIN_FORKNUM, f.forkNum());
    }

    @Test
    void forkAndSegmentSuffixes() {
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1663, 5, 1259, ForkNumber.FSM_FORKNUM.forkNum()), 0), parsed("base/5/1259_fsm"));
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1663, 5, 1259, ForkNumber.VISIBILITYMAP_FORKNUM.forkNum()), 0), parsed("base/5/1259_vm"));
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1663, 5, 1259, ForkNumber.INIT_FORKNUM.forkNum()), 0), parsed("base/5/1259_init"));
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1663, 5, 1259, ForkNumber.MAIN_FORKNUM.forkNum()), 3), parsed("base/5/1259.3"));
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1663, 5, 1259, ForkNumber.FSM_FORKNUM.forkNum()), 2), parsed("base/5/1259_fsm.2"));
        assertEquals(new RelationSegmentFile(RelTag.ofOids(1664, 0, 4294967295L, ForkNumber.MAIN_FORKNUM.forkNum()), 0), parsed("global/4294967295"));
    }

    @Test
    void tablespaceThroughPgTblspc() {
        RelationSegmentFile f = parsed("pg_tblspc/16400/PG_15_202209061/16401/16402_vm.1");
        assertEquals(new RelTag(16400, 16401, 16402, ForkNumber.VISIBILITYMAP_FORKNUM.forkNum()), f.rel());
        assertEquals(ForkNumber.VISIBILITYMAP_FORKNUM, f.forkNum());
        assertEquals(1, f.segno());
    }

    @Test
    void tablespaceLocationInsideTheMount() {
        RelationPath.TablespaceLocations locations = location ->
                Map.of("spaces/fast", 16400L).containsKey(location) ? OptionalLong.of(16400) : OptionalLong.empty();
        RelationSegmentFile f = RelationPath.parse("/spaces/fast/PG_15_202209061/5/16402", locations).orElseThrow();
        assertEquals(new RelTag(16400, 5, 16402, ForkNumber.MAIN_FORKNUM.forkNum()), f.rel());
        assertTrue(RelationPath.parse("/spaces/slow/PG_15_202209061/5/16402", locations).isEmpty());
        assertTrue(RelationPath.parse("/spaces/fast/PG_15_202209061/5/16402").isEmpty(), "unknown location without resolver");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "/", "global", "base", "base/5", "base/5/", "global/pg_control", "global/pg_filenode.map",
            "base/5/PG_VERSION", "base/5/pg_internal.init", "base/5/t3_16384", "base/5/t3_16384_fsm",
            "base/5/16384_main", "base/5/16384_xyz", "base/5/16384.", "base/5/16384.0", "base/5/16384.01",
            "base/5/016384", "base/5/0", "base/05/16384", "base/x/16384", "base/5/16384/1", "base/5/4294967296",
            "base/5/-1", "base/5/16384_fsm_vm", "pg_wal/000000010000000000000001", "pg_xact/0000",
            "pg_tblspc/16400/PG_15_202209061/16401", "pg_tblspc/16400/PG_15/16401/16402",
            "pg_tblspc/16400/XX_15_202209061/16401/16402", "pg_tblspc/abc/PG_15_202209061/16401/16402",
            "global/./1262", "base/../base/5/1", "base//5/16384", "pg_stat_tmp/global.stat", "base/pgsql_tmp/pgsql_tmp1.0"})
    void notRelationFiles(String path) {
        assertFalse(RelationPath.parse(path).isPresent(), path);
    }

    @Test
    void fileNameRoundTrips() {
        for (String name : new String[]{"1259", "1259_fsm", "1259_vm", "1259_init", "1259.7", "1259_fsm.2"}) {
            assertEquals(name, parsed("base/5/" + name).fileName());
        }
    }

    @Test
    void firstBlockOfSegment() {
        assertEquals(0, parsed("base/5/1").firstBlock());
        assertEquals(2L * 131072, parsed("base/5/1.2").firstBlock());
    }

    @Test
    void tablespaceVersionDirectory() {
        assertTrue(RelationPath.isTablespaceVersionDirectory("PG_15_202209061"));
        assertFalse(RelationPath.isTablespaceVersionDirectory("PG_15_"));
        assertFalse(RelationPath.isTablespaceVersionDirectory("PG__202209061"));
        assertFalse(RelationPath.isTablespaceVersionDirectory("pg_15_202209061"));
    }
}
