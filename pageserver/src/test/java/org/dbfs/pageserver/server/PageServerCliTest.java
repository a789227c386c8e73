package org.dbfs.pageserver.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input at start: a clear message, a distinct exit code, no stack trace, nothing touched. */
class PageServerCliTest {
    @TempDir
    Path tmp;

    record Exit(int code, String stderr) {}

    Exit run(List<String> args, Map<String, String> env) throws Exception {
        ProcessBuilder pb = PageServerProcess.command(args, env, tmp.resolve("logs"));
        Process p = pb.start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "page server should exit on bad input");
        return new Exit(p.exitValue(), Files.readString(pb.redirectError().file().toPath()));
    }

    static Map<String, byte[]> contents(Path dir) throws IOException {
        Map<String, byte[]> all = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                all.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return all;
    }

    static void assertNoStackTrace(String stderr) {
        assertFalse(stderr.contains("\tat "), "no stack trace for an operator error:\n" + stderr);
    }

    @Test
    void wrongPassphraseFailsAtStartAndTouchesNothing() throws Exception {
        Path bucket = tmp.resolve("bucket");
        List<String> args = List.of("--bucket", bucket.toString(), "--cache-dir", tmp.resolve("cache").toString());
        try (PageServerProcess ps = PageServerProcess.start(args, Map.of("DBFS_PASSPHRASE", "right"), tmp.resolve("logs"))) {
            assertTrue(ps.port() > 0);
        }
        Map<String, byte[]> before = contents(bucket);
        Path otherCache = tmp.resolve("other-cache");
        Exit exit = run(List.of("--bucket", bucket.toString(), "--cache-dir", otherCache.toString(),
                "--listen", "127.0.0.1:0"), Map.of("DBFS_PASSPHRASE", "wrong"));
        assertEquals(2, exit.code(), exit.stderr());
        assertTrue(exit.stderr().contains("wrong passphrase"), exit.stderr());
        assertNoStackTrace(exit.stderr());
        Map<String, byte[]> after = contents(bucket);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> assertTrue(java.util.Arrays.equals(v, after.get(k)), k + " changed"));
        assertFalse(Files.exists(otherCache), "the cache directory must not be created");
    }

    @Test
    void unreachableS3EndpointIsAClearErrorNotAStackTrace() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Exit exit = run(List.of("--bucket", "s3://nowhere/prefix", "--s3-endpoint", "http://127.0.0.1:" + port,
                "--cache-dir", tmp.resolve("cache").toString(), "--listen", "127.0.0.1:0"),
                Map.of("DBFS_PASSPHRASE", "x", "AWS_ACCESS_KEY_ID", "a", "AWS_SECRET_ACCESS_KEY", "b", "AWS_REGION", "us-east-1"));
        assertEquals(3, exit.code(), exit.stderr());
        assertTrue(exit.stderr().contains("127.0.0.1:" + port), exit.stderr());
        assertNoStackTrace(exit.stderr());
    }

    @Test
    void missingPassphraseIsAClearError() throws Exception {
        Exit exit = run(List.of("--bucket", tmp.resolve("b").toString(), "--cache-dir", tmp.resolve("c").toString()),
                Map.of());
        assertEquals(2, exit.code(), "a missing passphrase stops the start as a wrong one does: " + exit.stderr());
        assertTrue(exit.stderr().contains("DBFS_PASSPHRASE"), exit.stderr());
        assertNoStackTrace(exit.stderr());
    }
}
