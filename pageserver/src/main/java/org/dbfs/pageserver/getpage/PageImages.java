package org.dbfs.pageserver.getpage;

import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pgformat.RelTag;

/** The page versions written to this page server (by a DbFS mount), by pd_lsn. */
@FunctionalInterface
public interface PageImages {
    /** The newest stored version whose pd_lsn is at or below {@code lsn}, or null. */
    PageStore.StoredBlock newestAtOrBelow(RelTag rel, long block, long lsn);
}
