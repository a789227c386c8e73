package org.dbfs.fuse;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.dbfs.protocol.MountControlSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount's control socket ({@link MountControlSocket}): one request line, one reply line, served
 * one connection at a time on a daemon thread. Only root and the mount's user can reach it (the
 * directory is 0700).
 */
final class MountControl implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MountControl.class);

    private final Path path;
    private final ServerSocketChannel listener;
    private final Function<Request, String> handler;
    private volatile boolean closing;

    /** A parsed request: the command word and its key=value fields. */
    record Request(String command, Map<String, String> fields) {}

    private MountControl(Path path, ServerSocketChannel listener, Function<Request, String> handler) {
        this.path = path;
        this.listener = listener;
        this.handler = handler;
    }

    static MountControl start(Path mountPoint, Function<Request, String> handler) throws IOException {
        Path path = MountControlSocket.forMountPoint(mountPoint);
        Files.createDirectories(path.getParent());
        try {
            Files.setPosixFilePermissions(path.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("cannot restrict {}: {}", path.getParent(), e.toString());
        }
        Files.deleteIfExists(path); // a mount of this mount point that died left it
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(path));
        MountControl control = new MountControl(path, listener, handler);
        Thread.ofPlatform().daemon().name("dbfs-control").start(control::serve);
        log.info("control socket for {}: {}", mountPoint, path);
        return control;
    }

    private void serve() {
        while (!closing) {
            try (SocketChannel c = listener.accept()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                String line = in.readLine();
                String reply;
                try {
                    reply = line == null ? "error empty request" : handler.apply(parse(line));
                } catch (RuntimeException e) {
                    log.error("control request {} failed", line, e);
                    reply = "error " + e.getMessage();
                }
                OutputStream out = Channels.newOutputStream(c);
                out.write((reply.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException e) {
                if (!closing) {
                    log.warn("control socket {}: {}", path, e.toString());
                }
            }
        }
    }

    static Request parse(String line) {
        String[] words = line.strip().split("\\s+");
        Map<String, String> fields = new HashMap<>();
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            if (eq > 0) {
                fields.put(words[i].substring(0, eq), words[i].substring(eq + 1));
            }
        }
        return new Request(words[0], fields);
    }

    @Override
    public void close() {
        closing = true;
        try {
            listener.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.debug("closing {}: {}", path, e.toString());
        }
    }
}
