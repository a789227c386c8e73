package org.dbfs.fencing.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.dbfs.bucket.crypto.BucketKeys;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fencectl's answers to bad input: a clear message, a non-zero exit, and the lease as it was (or,
 * after the fence itself, a fence the next run finishes). Promotions and fences that succeed are
 * tested end to end (FencingTest, FailoverTest).
 */
class FencectlCliTest {
    private static final String PASSPHRASE = "test passphrase";

    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    /** fencectl in this JVM, its stdout and stderr captured (the commands print to System.out/err). */
    static synchronized Run fencectl(String... args) {
        PrintStream realOut = System.out;
        PrintStream realErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int exit = FencectlCli.commandLine().execute(args);
            return new Run(exit, out.toString(), err.toString());
        } finally {
            System.setOut(realOut);
            System.setErr(realErr);
        }
    }

    Path bucketWithWriter() {
        Path bucket = tmp.resolve("bucket");
        try (ObjectStore store = ObjectStores.open(bucket.toString(), null)) {
            var codec = BucketKeys.openOrCreate(store, PASSPHRASE.toCharArray());
            new ClusterLeaseStore(store, codec, Clock.systemUTC(), Duration.ofSeconds(30)).acquire("db1:/mnt/pg");
        }
        return bucket;
    }

    static ClusterLease lease(Path bucket) {
        try (ObjectStore store = ObjectStores.open(bucket.toString(), null)) {
            var codec = BucketKeys.openExisting(store, PASSPHRASE.toCharArray());
            return new ClusterLeaseStore(store, codec, Clock.systemUTC(), Duration.ofSeconds(30)).read().orElseThrow().lease();
        }
    }

    Path passphrase() throws Exception {
        return Files.writeString(tmp.resolve("passphrase"), PASSPHRASE + "\n");
    }

    @Test
    void promoteWithNoReplicaMountedChangesNothing() throws Exception {
        Path bucket = bucketWithWriter();
        ClusterLease before = lease(bucket);
        Path notMounted = Files.createDirectories(tmp.resolve("not-a-mount"));
        Run r = fencectl("promote", "--bucket", bucket.toString(), "--passphrase-file", passphrase().toString(),
                "--pageserver", "127.0.0.1:1", "--replica", notMounted.toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("no DbFS mount answers for " + notMounted), r.err());
        assertEquals(before, lease(bucket), "the lease is as it was");
    }

    @Test
    void statusOfABucketWithoutALeaseSaysSo() throws Exception {
        Path bucket = tmp.resolve("empty");
        try (ObjectStore store = ObjectStores.open(bucket.toString(), null)) {
            BucketKeys.openOrCreate(store, PASSPHRASE.toCharArray());
        }
        Run r = fencectl("status", "--bucket", bucket.toString(), "--passphrase-file", passphrase().toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.out().contains("no cluster lease"), r.out());
    }

    @Test
    void aWrongPassphraseChangesNothing() throws Exception {
        Path bucket = bucketWithWriter();
        ClusterLease before = lease(bucket);
        Path wrong = Files.writeString(tmp.resolve("wrong"), "not the passphrase\n");
        Run r = fencectl("fence", "--bucket", bucket.toString(), "--passphrase-file", wrong.toString(), "--pageserver", "127.0.0.1:1");
        assertEquals(2, r.exit(), r.err());
        assertEquals(before, lease(bucket));
    }

    @Test
    void aFenceWhoseServicesCannotBeReachedLeavesAFenceTheNextRunFinishes() throws Exception {
        Path bucket = bucketWithWriter();
        Run r = fencectl("fence", "--bucket", bucket.toString(), "--passphrase-file", passphrase().toString(),
                "--pageserver", "127.0.0.1:1", "--walservice", "127.0.0.1:1");
        assertEquals(FencectlCli.INCOMPLETE, r.exit(), r.err());
        assertTrue(r.err().contains("epoch 2 (fenced)") && r.err().contains("Run the same fencectl command again"), r.err());
        ClusterLease l = lease(bucket);
        assertEquals(2, l.epoch());
        assertEquals(ClusterLease.State.FENCED, l.state());
        Run again = fencectl("fence", "--bucket", bucket.toString(), "--passphrase-file", passphrase().toString(),
                "--pageserver", "127.0.0.1:1", "--walservice", "127.0.0.1:1");
        assertEquals(FencectlCli.INCOMPLETE, again.exit(), again.err());
        assertEquals(2, lease(bucket).epoch(), "the second run resumed the same fence rather than moving the epoch again");
    }
}
