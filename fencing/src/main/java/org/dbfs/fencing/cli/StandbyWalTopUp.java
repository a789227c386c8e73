package org.dbfs.fencing.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Iterator;
import java.util.stream.Stream;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.walservice.v1.ReadWalRequest;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;

/**
 * Hands a standby the WAL it lacks up to F straight from the WAL service, by writing it into the
 * segment files of its {@code pg_wal} (through the mount, into its overlay), where its startup
 * process looks once streaming and the archive have nothing: the way PostgreSQL takes WAL placed
 * in pg_wal by hand. Faster than restore_command (a process per file) and it works for the
 * segment the WAL service's log starts in, whose head the archive never had. The standby wrote
 * the bytes before {@code from} itself; only WAL from there on is written.
 */
final class StandbyWalTopUp {
    private StandbyWalTopUp() {}

    /** @return bytes written */
    static long write(WalServiceGrpc.WalServiceBlockingStub wal, Path pgWal, int segSize, long from, long to)
            throws IOException {
        if (Long.compareUnsigned(from, to) >= 0) {
            return 0;
        }
        int timeline = newestTimeline(pgWal);
        PosixFileAttributes owner = Files.readAttributes(pgWal, PosixFileAttributes.class);
        long written = 0;
        Iterator<WalChunk> chunks = wal.readWal(ReadWalRequest.newBuilder().setStartLsn(from).setEndLsn(to).build());
        while (chunks.hasNext()) {
            WalChunk c = chunks.next();
            byte[] data = c.getData().toByteArray();
            long lsn = c.getStartLsn();
            int off = 0;
            while (off < data.length) {
                long segNo = Lsn.segmentNumber(lsn, segSize);
                int within = Lsn.segmentOffset(lsn, segSize);
                int n = Math.min(data.length - off, segSize - within);
                Path file = segmentFile(pgWal, segNo, timeline, segSize);
                boolean created = !Files.exists(file);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.wrap(data, off, n);
                    long pos = within;
                    while (b.hasRemaining()) {
                        pos += ch.write(b, pos);
                    }
                    ch.force(false);
                }
                if (created) {
                    Files.setOwner(file, owner.owner());
                    Files.getFileAttributeView(file, java.nio.file.attribute.PosixFileAttributeView.class).setGroup(owner.group());
                }
                off += n;
                lsn += n;
                written += n;
            }
        }
        return written;
    }

    /**
     * The other direction: WAL [from, to) the standby received and the WAL service did not, read
     * from the standby's pg_wal and appended to the WAL service's durable log (AppendWal).
     *
     * @return bytes appended
     */
    static long giveToWalService(WalServiceGrpc.WalServiceBlockingStub wal, long epoch, Path pgWal, int segSize, long from, long to)
            throws IOException {
        long lsn = from;
        while (Long.compareUnsigned(lsn, to) < 0) {
            long segNo = Lsn.segmentNumber(lsn, segSize);
            int within = Lsn.segmentOffset(lsn, segSize);
            int n = (int) Math.min(Math.min(to - lsn, segSize - within), 1 << 20);
            Path file = segmentFile(pgWal, segNo, newestTimeline(pgWal), segSize);
            byte[] data = new byte[n];
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    if (ch.read(b, within + b.position()) < 0) {
                        throw new IOException(file + " ends before " + Lsn.format(lsn + n));
                    }
                }
            }
            wal.appendWal(org.dbfs.protocol.walservice.v1.AppendWalRequest.newBuilder().setEpoch(epoch).setStartLsn(lsn)
                    .setData(com.google.protobuf.ByteString.copyFrom(data)).build());
            lsn += n;
        }
        return lsn - from;
    }

    /** The standby's timeline: the newest history file in its pg_wal names it (timeline 1 has none). */
    private static int newestTimeline(Path pgWal) throws IOException {
        try (Stream<Path> files = Files.list(pgWal)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9A-F]{8}\\.history"))
                    .mapToInt(n -> Integer.parseInt(n.substring(0, 8), 16)).max().orElse(1);
        }
    }

    /** The segment's file as the standby has it (the newest timeline's, if several), else one of {@code timeline}. */
    private static Path segmentFile(Path pgWal, long segNo, int timeline, int segSize) throws IOException {
        String suffix = Lsn.segmentFileName(timeline, segNo, segSize).substring(8);
        try (Stream<Path> files = Files.list(pgWal)) {
            return files.filter(p -> p.getFileName().toString().length() == 24 && p.getFileName().toString().endsWith(suffix))
                    .max(java.util.Comparator.comparing(p -> p.getFileName().toString()))
                    .orElse(pgWal.resolve(Lsn.segmentFileName(timeline, segNo, segSize)));
        }
    }
}
