package org.dbfs.walservice.server;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.LongSupplier;
import org.dbfs.metrics.RequestMetrics;
import org.dbfs.walservice.wal.WalPositions;

/**
 * The WAL service's metrics ({@code walservice --metrics-listen}): its four positions, each an
 * LSN (received from the primary, flushed here, indexed per page, archived to the bucket), whether
 * the primary is connected, and the framed calls page servers make, by method.
 */
final class WalServiceMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final RequestMetrics requests;

    WalServiceMetrics(WalPositions positions) {
        requests = RequestMetrics.register(registry, "dbfs_walservice_request",
                "Calls served in the WAL service's framing (page servers' GetPage@LSN), by method", "method");
        lsn("dbfs_walservice_received_lsn", "End of WAL received from the primary (maybe not durable yet)", positions::received);
        lsn("dbfs_walservice_flushed_lsn", "End of WAL fsynced here and reported to the primary", positions::flushed);
        lsn("dbfs_walservice_indexed_lsn", "End of WAL in the per-page index", positions::indexed);
        lsn("dbfs_walservice_archived_lsn", "End of WAL uploaded to the bucket", positions::archived);
        lsn("dbfs_walservice_timeline", "The timeline WAL is received on", positions::timeline);
        lsn("dbfs_walservice_primary_connected", "1 while streaming from the primary", () -> positions.primaryConnected() ? 1 : 0);
        lsn("dbfs_walservice_index_failed", "1 once indexing stopped on WAL that does not decode (the log says where)",
                () -> positions.indexError() == null || positions.indexError().isEmpty() ? 0 : 1);
    }

    PrometheusRegistry registry() {
        return registry;
    }

    RequestMetrics requests() {
        return requests;
    }

    private void lsn(String name, String help, LongSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
    }
}
