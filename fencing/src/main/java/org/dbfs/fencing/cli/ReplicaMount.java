package org.dbfs.fencing.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dbfs.protocol.MountControlSocket;

/**
 * A read-only mount and the standby PostgreSQL on it, as {@code fencectl promote} finds them from
 * the mount point: the mount's control socket, and the postmaster's port from its postmaster.pid.
 */
public final class ReplicaMount {
    final Path mountPoint;
    private final Path socket;

    public ReplicaMount(Path mountPoint) {
        this.mountPoint = mountPoint.toAbsolutePath().normalize();
        this.socket = MountControlSocket.forMountPoint(this.mountPoint);
    }

    /** The reply's key=value fields; an IllegalArgumentException with the mount's message for an error reply. */
    public Map<String, String> request(String line) {
        if (!Files.exists(socket)) {
            throw new IllegalArgumentException("no DbFS mount answers for " + mountPoint + " (no control socket " + socket
                    + "): mount the replica with dbfs mount --ro first");
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            Channels.newOutputStream(c).write((line + "\n").getBytes(StandardCharsets.UTF_8));
            String reply = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8)).readLine();
            if (reply == null || !reply.startsWith("ok")) {
                throw new IllegalArgumentException("the mount at " + mountPoint + " refused '" + line + "': "
                        + (reply == null ? "no reply" : reply.replaceFirst("^error ?", "")));
            }
            Map<String, String> fields = new HashMap<>();
            for (String w : reply.split("\\s+")) {
                int eq = w.indexOf('=');
                if (eq > 0) {
                    fields.put(w.substring(0, eq), w.substring(eq + 1));
                }
            }
            return fields;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot reach the mount at " + mountPoint + " through " + socket + ": " + e.getMessage(), e);
        }
    }

    /** The standby's port, from the postmaster.pid in its data directory (the mount's root). */
    int postgresPort() {
        Path pid = mountPoint.resolve("postmaster.pid");
        try {
            List<String> lines = Files.readAllLines(pid);
            return Integer.parseInt(lines.get(3).strip());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("no PostgreSQL runs on " + mountPoint + " (cannot read its port from " + pid + ": "
                    + e.getMessage() + "): start the standby first", e);
        }
    }
}
