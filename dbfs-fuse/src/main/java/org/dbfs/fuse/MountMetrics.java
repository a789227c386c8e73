package org.dbfs.fuse;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.LongSupplier;
import org.dbfs.metrics.LatencyHistogram;
import org.dbfs.metrics.RequestMetrics;

/**
 * A mount's metrics ({@code dbfs mount --metrics-listen}): FUSE requests by opcode with their
 * latency, fsync's latency on its own (what a commit waits for), and the mount's position: a
 * replica's B, a writer's epoch.
 */
final class MountMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final RequestMetrics requests;
    private final LatencyHistogram fsyncs;

    /** @param readOnly whether the mount is read-only now (a promotion makes a replica's mount read-write) */
    MountMetrics(java.util.function.BooleanSupplier readOnly) {
        requests = RequestMetrics.register(registry, "dbfs_mount_fuse_request",
                "FUSE requests the kernel sent, by opcode, and how long the mount took to answer", "op");
        fsyncs = LatencyHistogram.register(registry, "dbfs_mount_fsync_duration",
                "What a commit waits for on the mount, by kind: fsync, fdatasync, or a write(2) on a file opened O_DSYNC"
                        + " (PostgreSQL's WAL with wal_sync_method = open_datasync); each returns once the page server has"
                        + " the data durable", "kind");
        GaugeWithCallback.builder().name("dbfs_mount_read_only").help("1 on a replica or time-travel mount, 0 read-write")
                .callback(cb -> cb.call(readOnly.getAsBoolean() ? 1 : 0)).register(registry);
    }

    PrometheusRegistry registry() {
        return registry;
    }

    void fuseRequest(String op, long nanos, boolean failed) {
        requests.record(op, nanos, failed);
    }

    /** A durable wait of {@code kind}: fsync, fdatasync or o_dsync_write. */
    void durable(String kind, long nanos) {
        fsyncs.observe(kind, nanos);
    }

    /** A replica's (or time-travel mount's) B and the state of its claim on history. */
    void replica(LongSupplier readLsn, java.util.function.Supplier<String> leaseState) {
        GaugeWithCallback.builder().name("dbfs_mount_replica_lsn")
                .help("B: the LSN this read-only mount reads relation pages at").callback(cb -> cb.call(readLsn.getAsLong()))
                .register(registry);
        GaugeWithCallback.builder().name("dbfs_mount_reader_lease_held").labelNames("state")
                .help("1 while the page server keeps history for B (state held), 0 when lapsing or refused")
                .callback(cb -> {
                    String state = leaseState.get();
                    cb.call("held".equals(state) ? 1 : 0, state);
                }).register(registry);
    }

    /** A writer's epoch and the age of its last lease renewal. */
    void writer(LongSupplier epoch, LongSupplier lastRenewalMs) {
        GaugeWithCallback.builder().name("dbfs_mount_writer_epoch").help("The epoch this read-write mount writes under")
                .callback(cb -> cb.call(epoch.getAsLong())).register(registry);
        GaugeWithCallback.builder().name("dbfs_mount_writer_lease_age_seconds")
                .help("Seconds since this mount last renewed the cluster's writer lease")
                .callback(cb -> cb.call((System.currentTimeMillis() - lastRenewalMs.getAsLong()) / 1000.0)).register(registry);
    }
}
