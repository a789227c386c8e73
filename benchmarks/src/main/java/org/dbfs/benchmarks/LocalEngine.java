package org.dbfs.benchmarks;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.RelTagRecords;
import org.dbfs.pageserver.store.StoreOptions;
import org.dbfs.pgformat.RelTag;

/** A {@link PageStore} on a local-directory bucket in a scratch directory, without the gRPC layer. */
final class LocalEngine implements AutoCloseable {
    /** What a JVM holding a page store needs for LMDB's binding (the version index), as bin/pageserver passes. */
    static final String LMDB_ACCESS_1 = "--add-opens=java.base/java.nio=ALL-UNNAMED";
    static final String LMDB_ACCESS_2 = "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED";
    static final String LMDB_ACCESS_3 = "--sun-misc-unsafe-memory-access=allow";

    /** The key does not matter for speed; a real bucket's key comes from Argon2 at start only. */
    static final FrameCodec CODEC = FrameCodec.forKey(new byte[32]);

    final Path dir;
    final ObjectStore bucket;
    final PageStore store;

    private LocalEngine(Path dir, ObjectStore bucket, PageStore store) {
        this.dir = dir;
        this.bucket = bucket;
        this.store = store;
    }

    /** @param autoPack false keeps the packer idle so it cannot move pages (or burn CPU) mid-measurement */
    static LocalEngine open(boolean autoPack) throws IOException {
        return open(o -> autoPack ? o : o.withPacking(Long.MAX_VALUE, Duration.ofDays(365)));
    }

    /** @param tune changes the default options of a store in the scratch directory */
    static LocalEngine open(UnaryOperator<StoreOptions> tune) throws IOException {
        Path dir = TempDirs.create();
        ObjectStore bucket = ObjectStores.open(dir.resolve("bucket").toString(), null);
        StoreOptions options = tune.apply(StoreOptions.defaults(dir.resolve("cache")));
        return new LocalEngine(dir, bucket, PageStore.open(bucket, CODEC, options));
    }

    static JournalRecord.Builder pageWrite(RelTag rel, int block, long lsn, ByteString data) {
        return JournalRecord.newBuilder().addPages(PageVersionRecord.newBuilder().setRel(RelTagRecords.toRecord(rel))
                .setBlockNum(block).setLsn(lsn).setData(data));
    }

    @Override
    public void close() throws IOException {
        try {
            store.close();
            bucket.close();
        } finally {
            TempDirs.delete(dir);
        }
    }
}
