package org.dbfs.walservice.archive;

import java.util.function.Supplier;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.objectstore.ObjectStore;

/** The service's {@link TimelineHistory}: read from the bucket at start, written there before it changes here. */
public final class FollowedTimelines implements Supplier<TimelineHistory> {
    private final ObjectStore store;
    private final FrameCodec codec;
    private volatile TimelineHistory history;

    public FollowedTimelines(ObjectStore store, FrameCodec codec) {
        this.store = store;
        this.codec = codec;
        this.history = TimelineHistory.load(store, codec);
    }

    @Override
    public TimelineHistory get() {
        return history;
    }

    public synchronized void advance(int timeline, long startLsn) {
        TimelineHistory next = history.followedBy(timeline, startLsn);
        next.store(store, codec);
        history = next;
    }
}
