package org.dbfs.walservice.replication;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.walservice.wal.DurableFiles;

/**
 * Whom the service follows, remembered across restarts in the data directory, in two small files
 * replaced atomically ({@link DurableFiles#replace}):
 *
 * <pre>
 * walservice.fence     epoch=3 / fence_lsn=0/5A000028   present while fenced: follow no primary
 * walservice.primary   epoch=3 / primary=host=... port=... the primary a Follow named (else --primary)
 * </pre>
 *
 * The fence file is written before the service stops acknowledging, so a restart in between comes
 * back fenced; it is removed only by Follow.
 */
public final class FollowState {
    static final String FENCE = "walservice.fence";
    static final String PRIMARY = "walservice.primary";

    /** @param fenceLsn 0 until the fence has made the received WAL durable */
    public record Fence(long epoch, long fenceLsn) {}

    public record Followed(long epoch, String primary) {}

    private final Path dataDir;

    public FollowState(Path dataDir) {
        this.dataDir = dataDir;
    }

    public Optional<Fence> fence() throws IOException {
        return read(FENCE).map(p -> new Fence(Long.parseLong(p.getProperty("epoch", "0").trim()),
                Lsn.parse(p.getProperty("fence_lsn", "0/0").trim())));
    }

    public void storeFence(Fence f) throws IOException {
        write(FENCE, "# walservice: fenced; follows no primary until fencectl points it at the writer of a newer epoch\n"
                + "epoch=" + f.epoch() + "\nfence_lsn=" + Lsn.format(f.fenceLsn()) + "\n");
    }

    public Optional<Followed> followed() throws IOException {
        return read(PRIMARY).map(p -> new Followed(Long.parseLong(p.getProperty("epoch", "0").trim()),
                p.getProperty("primary", "").trim()));
    }

    /** Records whom to follow, then lifts the fence. */
    public void storeFollowed(Followed f) throws IOException {
        write(PRIMARY, "# walservice: the primary fencectl pointed this service at (overrides --primary)\n"
                + "epoch=" + f.epoch() + "\nprimary=" + f.primary() + "\n");
        Files.deleteIfExists(dataDir.resolve(FENCE));
        DurableFiles.fsyncDirectory(dataDir);
    }

    private Optional<Properties> read(String name) throws IOException {
        Path file = dataDir.resolve(name);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
        return Optional.of(p);
    }

    private void write(String name, String text) throws IOException {
        Files.createDirectories(dataDir);
        DurableFiles.replace(dataDir.resolve(name), text.getBytes(StandardCharsets.UTF_8));
    }
}
