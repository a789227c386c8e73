package org.dbfs.walservice.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PrimaryConnInfoTest {
    @Test
    void keywordValue() {
        PrimaryConnInfo c = PrimaryConnInfo.parse("host=127.0.0.1 port=5433 user=postgres password='a b\\'c' dbname=app", Map.of());
        assertEquals("jdbc:postgresql://127.0.0.1:5433/app", c.jdbcUrl());
        assertEquals("postgres", c.properties().getProperty("user"));
        assertEquals("a b'c", c.properties().getProperty("password"));
        assertFalse(c.toString().contains("a b"), "the password stays out of logs");
    }

    @Test
    void urlWithUserAndPassword() {
        PrimaryConnInfo c = PrimaryConnInfo.parse("postgresql://rep:s%40cret@db.example:6000/postgres?sslmode=require", Map.of());
        assertEquals("jdbc:postgresql://db.example:6000/postgres", c.jdbcUrl());
        assertEquals("rep", c.properties().getProperty("user"));
        assertEquals("s@cret", c.properties().getProperty("password"));
        assertEquals("require", c.properties().getProperty("sslmode"));
    }

    @Test
    void defaultsAndEnvironment() {
        PrimaryConnInfo c = PrimaryConnInfo.parse("host=10.0.0.1", Map.of("PGUSER", "alice", "PGPASSWORD", "pw"));
        assertEquals("jdbc:postgresql://10.0.0.1:5432/postgres", c.jdbcUrl());
        assertEquals("alice", c.properties().getProperty("user"));
        assertEquals("pw", c.properties().getProperty("password"));
    }

    @Test
    void jdbcUrlPassesThrough() {
        assertEquals("jdbc:postgresql://h:1/d", PrimaryConnInfo.parse("jdbc:postgresql://h:1/d", Map.of()).jdbcUrl());
    }

    @Test
    void refusesWhatItCannotHonour() {
        assertThrows(IllegalArgumentException.class, () -> PrimaryConnInfo.parse("host=/var/run/postgresql", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> PrimaryConnInfo.parse("host=h options=-cfoo", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> PrimaryConnInfo.parse("localhost", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> PrimaryConnInfo.parse("host='h", Map.of()));
    }
}
