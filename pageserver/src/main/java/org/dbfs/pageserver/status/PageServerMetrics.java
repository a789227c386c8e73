package org.dbfs.pageserver.status;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.Supplier;
import org.dbfs.metrics.LatencyHistogram;
import org.dbfs.metrics.RequestMetrics;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.segment.ReadCounts;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.ReaderStatus;

/**
 * The page server's metrics (docs/operations.md lists them). Requests and durable waits are
 * recorded as they happen; everything else is read from the store when scraped.
 */
public final class PageServerMetrics {
    private static final double[] CHAIN_BUCKETS = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final RequestMetrics requests;
    private final LatencyHistogram durableWaits;
    private final CommitLatencyWindow commitWindow = new CommitLatencyWindow();

    /**
     * @param status the cluster report the lease and reader gauges read (shared for a second, so a
     *               scrape costs at most one bucket read and one WAL service call)
     */
    public PageServerMetrics(PageStore store, PageMaterializer materializer, Supplier<ClusterStatus> status) {
        requests = RequestMetrics.register(registry, "dbfs_pageserver_request",
                "Calls served in the page server's framing (mounts, and tools through it), by method", "method");
        durableWaits = LatencyHistogram.register(registry, "dbfs_pageserver_durable_wait",
                "How long a durable write or Sync waited for the journal's fsync: the page server's share of a commit");
        store.onDurableWait(nanos -> {
            durableWaits.observe(nanos);
            commitWindow.record(nanos);
        });
        if (materializer != null) {
            Histogram chains = Histogram.builder().name("dbfs_pageserver_redo_chain_records").classicOnly()
                    .classicUpperBounds(CHAIN_BUCKETS)
                    .help("WAL records redone per GetPage@LSN materialization").register(registry);
            materializer.onMaterialized(chains::observe);
        }
        ReadCounts reads = store.readCounts();
        CounterWithCallback.builder().name("dbfs_pageserver_reads").labelNames("source")
                .help("Stored page and file-block reads by where they were served from: journal (not yet packed),"
                        + " memory (frame cache), local_segment (cache directory), bucket")
                .callback(cb -> {
                    cb.call(reads.journal(), "journal");
                    cb.call(reads.memory(), "memory");
                    cb.call(reads.localSegment(), "local_segment");
                    cb.call(reads.bucket(), "bucket");
                }).register(registry);
        gauge("dbfs_pageserver_journal_unpacked_bytes", "Acknowledged writes in the journal not yet packed into the bucket",
                store::unpackedBytes);
        gauge("dbfs_pageserver_journal_last_seq", "The last journal sequence acknowledged", store::lastSeq);
        gauge("dbfs_pageserver_journal_packed_seq", "The last journal sequence packed into the bucket", store::packedSeq);
        gauge("dbfs_pageserver_bucket_segments", "Segment objects the bucket's manifest names", store::segmentCount);
        gauge("dbfs_pageserver_bucket_segment_bytes", "Their bytes in the bucket", store::segmentBytes);
        gauge("dbfs_pageserver_gc_horizon_lsn", "Reads as of an older LSN are refused (0: nothing collected yet)",
                store::horizonLsn);
        gauge("dbfs_pageserver_writer_epoch", "The cluster's epoch as this page server enforces it", store::epoch);
        gauge("dbfs_pageserver_timeline", "The current timeline", () -> store.timelines().current().timeline());
        counter("dbfs_pageserver_gc_versions_dropped", "Page versions garbage collection dropped since start",
                () -> store.gcTotals().versionsDropped());
        counter("dbfs_pageserver_gc_segments_rewritten", "Segments garbage collection rewrote since start",
                () -> store.gcTotals().segmentsRewritten());
        counter("dbfs_pageserver_gc_objects_deleted", "Bucket objects garbage collection deleted since start",
                () -> store.gcTotals().objectsDeleted());
        counter("dbfs_pageserver_fenced_writes_refused", "Writes and Syncs refused for a stale epoch since start",
                store::staleEpochRefusals);
        GaugeWithCallback.builder().name("dbfs_cluster_lease_epoch").labelNames("holder", "state")
                .help("The writer lease in the bucket: its epoch, holder and state").callback(cb -> {
                    ClusterStatus s = status.get();
                    if (s.hasLease()) {
                        cb.call(s.getLease().getEpoch(), s.getLease().getHolder(), s.getLease().getState());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("dbfs_cluster_lease_age_seconds")
                .help("Seconds since the writer lease was last renewed").callback(cb -> {
                    ClusterStatus s = status.get();
                    if (s.hasLease()) {
                        cb.call((s.getNowMs() - s.getLease().getRenewedMs()) / 1000.0);
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("dbfs_pageserver_reader_lsn").labelNames("reader", "holder")
                .help("B of each replica (and time-travel mount) holding history here").callback(cb -> {
                    for (ReaderStatus r : status.get().getReadersList()) {
                        cb.call(r.getLsn(), r.getId(), r.getHolder());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("dbfs_pageserver_reader_lag_bytes").labelNames("reader")
                .help("The WAL service's received LSN minus each reader's B").callback(cb -> {
                    for (ReaderStatus r : status.get().getReadersList()) {
                        cb.call(r.getLagBytes(), r.getId());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("dbfs_pageserver_reader_lease_age_seconds").labelNames("reader")
                .help("Seconds since each reader last renewed its claim on history").callback(cb -> {
                    ClusterStatus s = status.get();
                    for (ReaderStatus r : s.getReadersList()) {
                        cb.call((s.getNowMs() - r.getRenewedMs()) / 1000.0, r.getId());
                    }
                }).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** The framed calls' latencies and errors, by method. */
    public RequestMetrics requests() {
        return requests;
    }

    /** The durable waits since the last sample, for the status page's commit latency plot. */
    CommitLatencyWindow commitWindow() {
        return commitWindow;
    }

    private void gauge(String name, String help, Supplier<Number> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }

    private void counter(String name, String help, Supplier<Number> value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get().doubleValue())).register(registry);
    }
}
