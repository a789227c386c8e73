package org.dbfs.tests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on 127.0.0.1 between a client and a server, for network faults: {@link #dropAll}
 * resets every connection (as a failed link or a restarted middlebox would), {@link #stall} stops
 * every byte in both directions, new connections included, until {@link #resume}.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Object stallLock = new Object();
    private boolean stalled;
    private volatile boolean closed;

    private TcpProxy(ServerSocket server, int targetPort) {
        this.server = server;
        this.targetPort = targetPort;
    }

    /** Listens on a free port of 127.0.0.1 and forwards each connection to {@code targetPort} there. */
    static TcpProxy start(int targetPort) throws IOException {
        TcpProxy proxy = new TcpProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), targetPort);
        Thread.ofVirtual().name("proxy-accept").start(proxy::acceptLoop);
        return proxy;
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream;
                try {
                    upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                } catch (IOException refused) {
                    reset(client); // the server is down: the client sees the connection fail, as without a proxy
                    continue;
                }
                client.setTcpNoDelay(true); // as the gRPC sockets it stands between: no Nagle delay per small frame
                upstream.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(upstream);
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pump(upstream, client));
            } catch (IOException e) {
                if (!closed) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[64 << 10];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                awaitNotStalled();
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException endOfConnection) {
            // reset by dropAll or by either end
        } finally {
            reset(from);
            reset(to);
        }
    }

    private void awaitNotStalled() throws InterruptedException {
        synchronized (stallLock) {
            while (stalled) {
                stallLock.wait();
            }
        }
    }

    /** Resets every open connection (RST, not FIN: the peers see an error, not an orderly end). */
    void dropAll() {
        for (Socket s : sockets) {
            reset(s);
        }
    }

    /** From now on no byte passes, either way, until {@link #resume}. */
    void stall() {
        synchronized (stallLock) {
            stalled = true;
        }
    }

    void resume() {
        synchronized (stallLock) {
            stalled = false;
            stallLock.notifyAll();
        }
    }

    private void reset(Socket s) {
        sockets.remove(s);
        try {
            s.setSoLinger(true, 0);
        } catch (SocketException alreadyClosed) {
            // nothing to reset
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a socket that failed
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        resume();
        server.close();
        dropAll();
    }
}
