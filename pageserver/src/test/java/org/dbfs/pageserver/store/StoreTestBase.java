package org.dbfs.pageserver.store;

import java.io.IOException;
import java.nio.file.Path;
import org.dbfs.bucket.objectstore.ObjectStores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A page store on a local-directory bucket that a test can make unreachable, closed after each test. */
abstract class StoreTestBase {
    @TempDir
    Path tmp;
    OutageObjectStore bucket;
    PageStore store;

    @AfterEach
    void close() throws IOException {
        if (store != null) {
            store.close();
        }
        if (bucket != null) {
            bucket.close();
        }
    }

    /** Opens the store (the bucket on first use) with {@code options}. */
    void open(StoreOptions options) throws IOException {
        if (bucket == null) {
            bucket = new OutageObjectStore(ObjectStores.open(tmp.resolve("bucket").toString(), null));
        }
        store = PageStore.open(bucket, PageStoreTest.CODEC, options);
    }
}
