package org.dbfs.protocol;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Where a mount listens for control requests (fencectl promote): a Unix-domain socket named after
 * the mount point, so that the tool needs only the mount point. {@code $DBFS_RUN_DIR} (default
 * {@code /run/dbfs}) holds {@code mounts/<hash>.sock}; a hash keeps the name within the socket
 * path limit whatever the mount point's length.
 *
 * <p>The protocol is one line of text each way: {@code status}, or {@code arm epoch=N min_lsn=X/Y};
 * the reply starts with {@code ok} or {@code error}, followed by {@code key=value} fields or a message.
 */
public final class MountControlSocket {
    private MountControlSocket() {}

    public static Path forMountPoint(Path mountPoint) {
        String dir = System.getenv().getOrDefault("DBFS_RUN_DIR", "/run/dbfs");
        String key = mountPoint.toAbsolutePath().normalize().toString();
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return Path.of(dir, "mounts", HexFormat.of().formatHex(h, 0, 12) + ".sock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
