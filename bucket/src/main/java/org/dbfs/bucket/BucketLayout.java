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
 * leases/readers/NAME                              a reader's claim on history (ReaderLease)
 * segments/SSSSSSSSSSSSSSSSSSSS-EEEEEEEEEEEEEEEEEEEE-gGGGGGGGGGG[-rRRRRRRRRRRRRRRRRRRRR].seg
 *                                                  journal records S..E packed by generation G (or
 *                                                  rewritten by its garbage collection at manifest version R)
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
    public static final String READER_LEASES = "leases/readers/";
    public static final String SEGMENTS = "segments/";
    public static final String NAMESPACES = "namespace/";
    public static final String WAL_ARCHIVE = "wal/";

    private BucketLayout() {}

    /** The object of reader {@code id}: letters, digits, '-', '_' and '.' only, so it is one key segment everywhere. */
    public static String readerLease(String id) {
        if (!id.matches("[A-Za-z0-9._-]{1,200}") || id.startsWith(".")) {
            throw new IllegalArgumentException("a reader name is 1-200 of A-Z a-z 0-9 . _ - and does not start with '.': " + id);
        }
        return READER_LEASES + id;
    }

    /**
     * A segment object: versions from journal records {@code minSeq..maxSeq}, written by writer
     * generation {@code generation}; {@code rewrite} is 0 for a pack, else the manifest version
     * whose garbage collection rewrote older segments into it.
     */
    public record Segment(long minSeq, long maxSeq, long generation, long rewrite) {
        private static final Pattern NAME =
                Pattern.compile("segments/(\\d{20})-(\\d{20})(?:-g(\\d{10}))?(?:-r(\\d{20}))?\\.seg");

        public Segment(long minSeq, long maxSeq, long generation) {
            this(minSeq, maxSeq, generation, 0);
        }

        public String name() {
            return String.format("%s%020d-%020d-g%010d", SEGMENTS, minSeq, maxSeq, generation)
                    + (rewrite == 0 ? "" : String.format("-r%020d", rewrite)) + ".seg";
        }

        public static Optional<Segment> parse(String name) {
            Matcher m = NAME.matcher(name);
            return m.matches() ? Optional.of(new Segment(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    m.group(3) == null ? 0 : Long.parseLong(m.group(3)), m.group(4) == null ? 0 : Long.parseLong(m.group(4))))
                    : Optional.empty();
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
