package org.dbfs.pageserver.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbfs.bucket.BucketLayout;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.LocalObjectStore;
import org.dbfs.pageserver.format.DirentRecord;
import org.dbfs.pageserver.format.InodeRecord;
import org.dbfs.pageserver.format.Manifest;
import org.dbfs.pageserver.format.NamespaceSnapshot;
import org.dbfs.pageserver.format.SegmentRef;
import org.dbfs.pageserver.namespace.NodeTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page server's sealed objects besides segments (SegmentStoreTest): a flipped bit anywhere in
 * one fails its read with an IntegrityException that names the object, and nothing of it is used.
 */
class BucketObjectDamageTest {
    private static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);

    @TempDir
    Path dir;

    @Test
    void aFlippedBitAnywhereInTheManifestFailsItsLoadNamingIt() throws IOException {
        Manifest manifest = Manifest.newBuilder().setFormatVersion(ManifestStore.FORMAT_VERSION).setGeneration(4)
                .setPackedSeq(99).setNamespaceObject(new BucketLayout.NamespaceSnapshot(99, 1).name())
                .addSegments(SegmentRef.newBuilder().setName(new BucketLayout.Segment(1, 99, 1).name()).setSize(4096)
                        .setMinSeq(1).setMaxSeq(99).setFooterOffset(4000).setFooterLength(72))
                .build();
        try (LocalObjectStore bucket = new LocalObjectStore(dir)) {
            new ManifestStore(bucket, CODEC).commit(manifest);
            assertEquals(manifest, new ManifestStore(bucket, CODEC).load().orElseThrow());
            everyBitFlipped(dir.resolve(ManifestStore.OBJECT_NAME), () -> new ManifestStore(bucket, CODEC).load(),
                    "object manifest in " + bucket.describe());
        }
    }

    @Test
    void aFlippedBitAnywhereInANamespaceSnapshotFailsItsReadNamingIt() throws IOException {
        String name = new BucketLayout.NamespaceSnapshot(42, 3).name();
        NamespaceSnapshot snapshot = NamespaceSnapshot.newBuilder().setSeq(42).setNextIno(3)
                .addInodes(InodeRecord.newBuilder().setIno(1).setType(NodeTypes.DIRECTORY).setMode(0755).setNlink(2))
                .addInodes(InodeRecord.newBuilder().setIno(2).setType(NodeTypes.REGULAR).setMode(0600).setNlink(1).setSize(8192))
                .addDirents(DirentRecord.newBuilder().setParent(1).setName("PG_VERSION").setIno(2))
                .build();
        try (LocalObjectStore bucket = new LocalObjectStore(dir)) {
            bucket.put(name, NamespaceObjects.seal(CODEC, name, snapshot));
            assertEquals(snapshot, NamespaceObjects.read(bucket, CODEC, name));
            everyBitFlipped(dir.resolve(name), () -> NamespaceObjects.read(bucket, CODEC, name),
                    "namespace snapshot " + name + " in " + bucket.describe());
        }
    }

    /** Flips each bit of {@code file} in turn: {@code read} must fail naming {@code object} as corrupt. */
    private static void everyBitFlipped(Path file, Runnable read, String object) throws IOException {
        byte[] intact = Files.readAllBytes(file);
        for (int bit = 0; bit < intact.length * 8; bit++) {
            byte[] damaged = intact.clone();
            damaged[bit / 8] ^= (byte) (1 << (bit % 8));
            Files.write(file, damaged);
            IntegrityException e = assertThrows(IntegrityException.class, read::run, "bit " + bit);
            assertTrue(e.getMessage().contains(object) && e.getMessage().contains("corrupt"), e.getMessage());
        }
    }
}
