package org.dbfs.tests;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bank transfers between accounts whose total never changes, from several clients, each transfer
 * with a unique id kept in a {@code transfers} table. Every COMMIT is recorded with when it was
 * sent and when (and whether) it returned; the ids of those that returned are appended to a file
 * as they return, the record of what PostgreSQL acknowledged. The failover tests check that list
 * against what a new primary holds.
 */
final class BankWorkload implements AutoCloseable {
    static final int ACCOUNTS = 100;
    static final long INITIAL_BALANCE = 1_000;
    static final long TOTAL = ACCOUNTS * INITIAL_BALANCE;

    /** One COMMIT: sent at {@code sentNanos}; {@code returnedNanos} 0 if it never returned. */
    record Commit(long id, long sentNanos, long returnedNanos, boolean ok) {}

    private final String jdbcUrl;
    private final Path ackedFile;
    private final ConcurrentLinkedQueue<Commit> commits = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Long> inFlight = new ConcurrentLinkedQueue<>();
    private final List<Thread> clients = new ArrayList<>();
    private final List<Connection> connections = java.util.Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong nextId = new AtomicLong(1);
    private volatile boolean stopping;
    private Writer acked;

    BankWorkload(int port, Path ackedFile) {
        this.jdbcUrl = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        this.ackedFile = ackedFile;
    }

    static void createSchema(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
            s.execute("INSERT INTO accounts SELECT g, " + INITIAL_BALANCE + " FROM generate_series(1, " + ACCOUNTS + ") g");
            s.execute("CREATE TABLE transfers (id bigint PRIMARY KEY, from_id int, to_id int, amount bigint)");
        }
    }

    /** Starts {@code n} clients; ids continue after {@code firstId}. */
    void start(int n, long firstId) throws IOException {
        nextId.set(firstId);
        acked = Files.newBufferedWriter(ackedFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        for (int i = 0; i < n; i++) {
            clients.add(Thread.ofPlatform().daemon().name("bank-client-" + i).start(this::client));
        }
    }

    private void client() {
        while (!stopping) {
            try (Connection c = connect()) {
                c.setAutoCommit(false);
                try (PreparedStatement debit = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = ?");
                     PreparedStatement credit = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
                     PreparedStatement record = c.prepareStatement("INSERT INTO transfers VALUES (?, ?, ?, ?)")) {
                    while (!stopping) {
                        transfer(c, debit, credit, record);
                    }
                }
            } catch (SQLException e) {
                if (!stopping) {
                    sleep(100); // the primary is gone or refusing: try again, as an application would
                }
            }
        }
    }

    private void transfer(Connection c, PreparedStatement debit, PreparedStatement credit, PreparedStatement record)
            throws SQLException {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int from = r.nextInt(1, ACCOUNTS + 1);
        int to = r.nextInt(1, ACCOUNTS + 1);
        long amount = r.nextLong(1, 50);
        long id = nextId.getAndIncrement();
        // Lock in id order so that two transfers never deadlock.
        PreparedStatement first = from < to ? debit : credit;
        PreparedStatement second = from < to ? credit : debit;
        first.setLong(1, amount);
        first.setInt(2, Math.min(from, to));
        first.executeUpdate();
        second.setLong(1, amount);
        second.setInt(2, Math.max(from, to));
        second.executeUpdate();
        record.setLong(1, id);
        record.setInt(2, from);
        record.setInt(3, to);
        record.setLong(4, amount);
        record.executeUpdate();
        long sent = System.nanoTime();
        inFlight.add(id);
        try {
            c.commit();
        } catch (SQLException e) {
            inFlight.remove(id);
            commits.add(new Commit(id, sent, System.nanoTime(), false));
            throw e;
        }
        long returned = System.nanoTime();
        inFlight.remove(id);
        commits.add(new Commit(id, sent, returned, true));
        synchronized (this) {
            try {
                acked.write(id + "\n");
                acked.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("connectTimeout", "5");
        Connection c = DriverManager.getConnection(jdbcUrl, p);
        connections.add(c);
        return c;
    }

    List<Commit> commits() {
        return List.copyOf(commits);
    }

    List<Long> ackedIds() {
        return commits.stream().filter(Commit::ok).map(Commit::id).toList();
    }

    long ackedCount() {
        return commits.stream().filter(Commit::ok).count();
    }

    /** Stops the clients: a COMMIT still waiting (for a synchronous standby that will not answer) is abandoned. */
    @Override
    public void close() throws IOException, InterruptedException {
        stopping = true;
        synchronized (connections) {
            for (Connection c : connections) {
                try {
                    c.abort(Runnable::run);
                } catch (SQLException ignored) {
                    // already broken
                }
            }
        }
        for (Thread t : clients) {
            t.join(30_000);
        }
        synchronized (this) {
            if (acked != null) {
                acked.close();
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
