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

    /**
     * A first start on an empty bucket for a primary already on {@code timeline} (a branch's
     * primary, promoted at its branch point, docs/branches.md): this archive's WAL is that
     * timeline's from its start. Nothing changes if the bucket records a history already.
     *
     * @return whether the history now starts at {@code timeline}
     */
    public synchronized boolean startAt(int timeline) {
        if (store.stat(TimelineHistory.OBJECT).isPresent() || !store.list(org.dbfs.bucket.BucketLayout.WAL_ARCHIVE).isEmpty()) {
            return false;
        }
        TimelineHistory first = new TimelineHistory(java.util.List.of(new TimelineHistory.Entry(timeline, 0)));
        first.store(store, codec);
        history = first;
        return true;
    }

    public synchronized void advance(int timeline, long startLsn) {
        TimelineHistory next = history.followedBy(timeline, startLsn);
        next.store(store, codec);
        history = next;
    }
}
