package org.dbfs.bucket;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every kind of object in a DbFS bucket, by name. Numbers are fixed-width and zero-padded so that
 * a sorted listing is sequence (or LSN) order, and every object a page-server writer creates
 * carries the writer's lease generation, so two writers can never produce the same name: a stale
 * writer's upload lands beside the winner's objects, never over them, and the winner's manifest
 * names only its own.
 *
 * <pre>
 * dbfs-key                                         key parameters (plaintext; BucketKeys)
 * manifest                                         the packed state; moved by compare-and-swap
 * leases/pageserver                                the page-server writer lease (one writer per bucket)
 * segments/SSSSSSSSSSSSSSSSSSSS-EEEEEEEEEEEEEEEEEEEE-gGGGGGGGGGG.seg
 *                                                  journal records S..E packed by generation G
 * namespace/SSSSSSSSSSSSSSSSSSSS-gGGGGGGGGGG.ns    namespace snapshot as of journal seq S
 * wal/TTTTTTTT/SSSSSSSSSSSSSSSS-EEEEEEEEEEEEEEEE     WAL archive (walservice ArchiveObjectName)
 * </pre>
 *
 * Buckets written before generations existed hold {@code segments/S-E.seg} and
 * {@code namespace/S.ns}; they parse as generation 0.
 */
public final class BucketLayout {
    public static final String KEY = "dbfs-key";
    public static final String MANIFEST = "manifest";
    public static final String WRITER_LEASE = "leases/pageserver";
    public static final String SEGMENTS = "segments/";
    public static final String NAMESPACES = "namespace/";
    public static final String WAL_ARCHIVE = "wal/";

    private BucketLayout() {}

    /** A segment object: journal records {@code minSeq..maxSeq}, packed by writer generation {@code generation}. */
    public record Segment(long minSeq, long maxSeq, long generation) {
        private static final Pattern NAME = Pattern.compile("segments/(\\d{20})-(\\d{20})(?:-g(\\d{10}))?\\.seg");

        public String name() {
            return String.format("%s%020d-%020d-g%010d.seg", SEGMENTS, minSeq, maxSeq, generation);
        }

        public static Optional<Segment> parse(String name) {
            Matcher m = NAME.matcher(name);
            return m.matches() ? Optional.of(new Segment(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    m.group(3) == null ? 0 : Long.parseLong(m.group(3)))) : Optional.empty();
        }
    }

    /** A namespace snapshot as of journal seq {@code seq}, written by generation {@code generation}. */
    public record NamespaceSnapshot(long seq, long generation) {
        private static final Pattern NAME = Pattern.compile("namespace/(\\d{20})(?:-g(\\d{10}))?\\.ns");

        public String name() {
            return String.format("%s%020d-g%010d.ns", NAMESPACES, seq, generation);
        }

        public static Optional<NamespaceSnapshot> parse(String name) {
            Matcher m = NAME.matcher(name);
            return m.matches() ? Optional.of(new NamespaceSnapshot(Long.parseLong(m.group(1)),
                    m.group(2) == null ? 0 : Long.parseLong(m.group(2)))) : Optional.empty();
        }
    }
}
