package org.dbfs.bucket;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbfs.pgformat.wal.Lsn;

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
 * leases/cluster                                   the cluster's writer lease: the PostgreSQL primary's epoch (fencing)
 * leases/readers/NAME                              a reader's claim on history (ReaderLease)
 * segments/SSSSSSSSSSSSSSSSSSSS-EEEEEEEEEEEEEEEEEEEE-gGGGGGGGGGG[-rRRRRRRRRRRRRRRRRRRRR].seg
 *                                                  journal records S..E packed by generation G (or
 *                                                  rewritten by its garbage collection at manifest version R)
 * namespace/SSSSSSSSSSSSSSSSSSSS-gGGGGGGGGGG.ns    namespace snapshot as of journal seq S
 * wal/TTTTTTTT/SSSSSSSSSSSSSSSS-EEEEEEEEEEEEEEEE     WAL [S, E) of timeline T, archived by the WAL service
 * snapshots/SSSSSSSSSSSSSSSS-CCCCCCCCCCCCCCCC-tTTTTTTTTTTTTTTT-gGGGGGGGGGG.snap
 *                                                  data-directory snapshot: the non-relation files as of
 *                                                  checkpoint C, with WAL end S after the copy (hex LSNs),
 *                                                  taken at Unix millisecond T
 * branch-registry/NAME                             a branch of this bucket and the pin it holds on its history
 * branches/NAME/...                                the branch's own bucket: the same layout, its own objects
 * </pre>
 *
 * A branch's registration cannot be {@code branches/NAME} itself: a local bucket is a directory
 * tree, where one name cannot be both a file and a directory.
 *
 * Buckets written before generations existed hold {@code segments/S-E.seg} and
 * {@code namespace/S.ns}; they parse as generation 0.
 */
public final class BucketLayout {
    public static final String KEY = "dbfs-key";
    public static final String MANIFEST = "manifest";
    public static final String WRITER_LEASE = "leases/pageserver";
    public static final String CLUSTER_LEASE = "leases/cluster";
    public static final String READER_LEASES = "leases/readers/";
    public static final String SEGMENTS = "segments/";
    public static final String NAMESPACES = "namespace/";
    public static final String WAL_ARCHIVE = "wal/";
    public static final String SNAPSHOTS = "snapshots/";
    public static final String BRANCH_REGISTRY = "branch-registry/";
    public static final String BRANCHES = "branches/";
    private static final Pattern BRANCH_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    private BucketLayout() {}

    /** The object of reader {@code id}: letters, digits, '-', '_' and '.' only, so it is one key segment everywhere. */
    public static String readerLease(String id) {
        if (!id.matches("[A-Za-z0-9._-]{1,200}") || id.startsWith(".")) {
            throw new IllegalArgumentException("a reader name is 1-200 of A-Z a-z 0-9 . _ - and does not start with '.': " + id);
        }
        return READER_LEASES + id;
    }

    /** The registration object of branch {@code name}; see {@link #checkBranchName}. */
    public static String branchRegistration(String name) {
        return BRANCH_REGISTRY + checkBranchName(name);
    }

    /** Where branch {@code name}'s own bucket lies inside this one, ending in '/'. */
    public static String branchPrefix(String name) {
        return BRANCHES + checkBranchName(name) + "/";
    }

    /**
     * A branch name is one key segment everywhere and a safe directory name: 1-63 of lower-case
     * letters, digits, '_' and '-', starting with a letter or digit.
     *
     * @throws IllegalArgumentException naming the rule otherwise
     */
    public static String checkBranchName(String name) {
        if (!isBranchName(name)) {
            throw new IllegalArgumentException("a branch name is 1-63 of a-z 0-9 _ - and starts with a letter or digit: '"
                    + name + "'");
        }
        return name;
    }

    public static boolean isBranchName(String name) {
        return BRANCH_NAME.matcher(name).matches();
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

    /**
     * A data-directory snapshot: the files that are not relation pages, copied after the checkpoint
     * at {@code checkpoint}, with the WAL ending at {@code walEnd} after the copy, at {@code takenAtMs}
     * (so every commit it holds is older: what mapping a time to a snapshot needs). Sorts by WAL end.
     */
    public record DataDirSnapshot(long walEnd, long checkpoint, long takenAtMs, long generation) {
        private static final Pattern NAME =
                Pattern.compile("snapshots/([0-9A-F]{16})-([0-9A-F]{16})-t(\\d{15})-g(\\d{10})\\.snap");

        public String name() {
            return SNAPSHOTS + Lsn.hex16(walEnd) + "-" + Lsn.hex16(checkpoint) + String.format("-t%015d-g%010d", takenAtMs,
                    generation) + ".snap";
        }

        public static Optional<DataDirSnapshot> parse(String name) {
            Matcher m = NAME.matcher(name);
            return m.matches() ? Optional.of(new DataDirSnapshot(Long.parseUnsignedLong(m.group(1), 16),
                    Long.parseUnsignedLong(m.group(2), 16), Long.parseLong(m.group(3)), Long.parseLong(m.group(4))))
                    : Optional.empty();
        }
    }

    /**
     * A WAL archive object: the WAL bytes [startLsn, endLsn) of {@code timeline}, in upper-case hex
     * so that the sorted listing is LSN order. Sorts by timeline, then start LSN.
     */
    public record WalArchiveObject(int timeline, long startLsn, long endLsn) implements Comparable<WalArchiveObject> {
        private static final Pattern NAME = Pattern.compile("wal/([0-9A-F]{8})/([0-9A-F]{16})-([0-9A-F]{16})");

        public WalArchiveObject {
            if (Long.compareUnsigned(endLsn, startLsn) <= 0) {
                throw new IllegalArgumentException("archive object must hold at least one byte: start="
                        + Lsn.format(startLsn) + " end=" + Lsn.format(endLsn));
            }
        }

        /** Where the objects of {@code timeline} are listed. */
        public static String prefix(int timeline) {
            return WAL_ARCHIVE + String.format("%08X", timeline) + "/";
        }

        public String name() {
            return prefix(timeline) + Lsn.hex16(startLsn) + "-" + Lsn.hex16(endLsn);
        }

        public long length() {
            return endLsn - startLsn;
        }

        /** The WAL archive object {@code name} names, or empty for any other key (temp files, other tools' objects). */
        public static Optional<WalArchiveObject> parse(String name) {
            Matcher m = NAME.matcher(name);
            if (!m.matches()) {
                return Optional.empty();
            }
            long start = Long.parseUnsignedLong(m.group(2), 16);
            long end = Long.parseUnsignedLong(m.group(3), 16);
            if (Long.compareUnsigned(end, start) <= 0) {
                return Optional.empty();
            }
            return Optional.of(new WalArchiveObject(Integer.parseUnsignedInt(m.group(1), 16), start, end));
        }

        @Override
        public int compareTo(WalArchiveObject o) {
            int c = Integer.compareUnsigned(timeline, o.timeline);
            return c != 0 ? c : Long.compareUnsigned(startLsn, o.startLsn);
        }

        @Override
        public String toString() {
            return name();
        }
    }
}
