package org.dbfs.pageserver.getpage;

import com.github.benmanes.caffeine.cache.Cache;
import org.dbfs.pageserver.store.Caches;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import org.dbfs.protocol.framed.FramedClient;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.cli.HostPort;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.protocol.grpc.ChannelReconnect;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.wal.DecodedRecord;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.pgformat.wal.WalEnd;
import org.dbfs.pgformat.wal.WalReadResult;
import org.dbfs.pgformat.wal.WalReader;
import org.dbfs.pgformat.wal.WalSource;
import org.dbfs.protocol.walservice.PageRecordsRequests;
import org.dbfs.protocol.walservice.v1.GetPageRecordsReply;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.PageRecord;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.ReadWalRequest;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;

/**
 * {@link PageWal} over a WAL service's API: its unary calls (GetPageRecords, GetPositions) in the
 * framing ({@link FramedClient}: on these VMs a gRPC round trip made GetPage@LSN's WAL lookup take
 * 1.3-3.7 ms where the service's own work took 0.2-0.4 ms), ReadWal, which streams, over gRPC on
 * the same port. WAL is read in whole 8 KB WAL pages (a record's
 * page header is part of what the decoder checks) and complete pages are kept in a bounded cache:
 * durable WAL never changes, and the records of one chain are often on neighbouring pages.
 */
public final class RemoteWal implements PageWal, AutoCloseable {
    private static final int WAL_PAGE = 8192;
    private static final long CALL_SLACK_MS = 30_000;
    /** How long a call waits for a WAL service that refused a connection: a restart takes seconds. */
    private static final Duration RECONNECT = Duration.ofSeconds(15);

    private final String target;
    private final ManagedChannel channel;
    private final FramedClient framed;
    private final WalServiceGrpc.WalServiceStub asyncStub;
    private final Cache<Long, byte[]> walPages;
    private final Duration reconnect;
    private volatile Positions layout;
    /** Highest indexed_up_to seen: WAL below it is durable at the service, so ReadWal will not wait for it. */
    private volatile long durableBelow;

    public RemoteWal(String hostPort, long cachedWalPages) {
        this(hostPort, cachedWalPages, RECONNECT);
    }

    RemoteWal(String hostPort, long cachedWalPages, Duration reconnect) {
        this.reconnect = reconnect;
        HostPort service = HostPort.parse("--walservice", hostPort);
        this.target = hostPort;
        this.channel = NettyChannelBuilder.forAddress(service.host(), service.port())
                .usePlaintext().maxInboundMessageSize(64 << 20).build();
        this.framed = new FramedClient(new InetSocketAddress(service.host(), service.port()), "WAL service " + hostPort,
                List::of, reconnect);
        this.asyncStub = WalServiceGrpc.newStub(channel);
        this.walPages = Caches.newBuilder().maximumSize(cachedWalPages).build();
    }

    @Override
    public List<WalRecordRef> records(RelTag rel, long block, long fromLsn, long toLsn, boolean fromLastBase, long waitMs) {
        GetPageRecordsReply reply;
        try {
            reply = framed.call("GetPageRecords",
                    PageRecordsRequests.forPage(new BufferTag(rel, (int) block)).setFromLsn(fromLsn).setToLsn(toLsn)
                            .setFromLastBase(fromLastBase).setWithWal(true)
                            .setMaxWaitMs((int) Math.min(Integer.MAX_VALUE, Math.max(1, waitMs))).build(),
                    GetPageRecordsReply.parser());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.OUT_OF_RANGE) {
                throw new WalNotIndexedException("WAL service " + target + ": " + e.getStatus().getDescription());
            }
            throw relayed(e);
        }
        long indexed = reply.getIndexedUpTo();
        if (Long.compareUnsigned(indexed, durableBelow) > 0) {
            durableBelow = indexed;
        }
        for (WalChunk c : reply.getWalList()) {
            keepPages(c.getStartLsn(), c.getData().toByteArray());
        }
        List<WalRecordRef> out = new ArrayList<>(reply.getRecordsCount());
        for (PageRecord r : reply.getRecordsList()) {
            out.add(new WalRecordRef(r.getLsn(), r.getEndLsn(), r.getHasApplyImage(), r.getWillInit(), r.getVmClear()));
        }
        return out;
    }

    @Override
    public List<DecodedRecord> read(List<WalRecordRef> records) {
        Positions l = layout();
        WalSource source = load(records);
        List<DecodedRecord> out = new ArrayList<>(records.size());
        WalReader reader = null;
        for (WalRecordRef r : records) {
            if (reader == null) {
                reader = WalReader.atRecord(source, r.lsn(), l.getWalSegmentSize(), l.getSystemIdentifier());
            } else {
                reader.seek(r.lsn());
            }
            WalReadResult result = reader.next();
            if (result instanceof WalEnd end) {
                throw new PageNotMaterializableException("the WAL record at " + Lsn.format(r.lsn())
                        + " read back from WAL service " + target + " does not decode: " + end.message());
            }
            DecodedRecord rec = (DecodedRecord) result;
            if (rec.endLsn() != r.endLsn()) {
                throw new PageNotMaterializableException("the WAL record at " + Lsn.format(r.lsn()) + " ends at "
                        + Lsn.format(rec.endLsn()) + ", the index says " + Lsn.format(r.endLsn()));
            }
            out.add(rec.copy());
        }
        return out;
    }

    /** The WAL pages under {@code records}: cached ones, the rest fetched in runs of consecutive pages. */
    private WalSource load(List<WalRecordRef> records) {
        Map<Long, byte[]> pages = new HashMap<>();
        TreeSet<Long> missing = new TreeSet<>();
        for (WalRecordRef r : records) {
            for (long p = r.lsn() & -WAL_PAGE; Long.compareUnsigned(p, r.endLsn()) < 0; p += WAL_PAGE) {
                byte[] cached = walPages.getIfPresent(p);
                // A page cut at the durable end serves the records that end within what it holds.
                if (cached != null && (cached.length == WAL_PAGE || p + cached.length >= r.endLsn())) {
                    pages.put(p, cached);
                } else {
                    missing.add(p);
                }
            }
        }
        List<long[]> runs = new ArrayList<>();
        for (long p : missing) {
            long[] last = runs.isEmpty() ? null : runs.getLast();
            if (last != null && last[1] == p) {
                last[1] = p + WAL_PAGE;
            } else {
                runs.add(new long[] {p, p + WAL_PAGE});
            }
        }
        fetch(runs, pages);
        return (lsn, dst, off, len) -> {
            long p = lsn & -WAL_PAGE;
            byte[] page = pages.get(p);
            if (page == null) {
                return 0;
            }
            int from = (int) (lsn - p);
            int n = Math.max(0, Math.min(len, page.length - from));
            System.arraycopy(page, from, dst, off, n);
            return n;
        };
    }

    /**
     * Reads each run [start, end) (end cut at the durable position: the last page may be partial,
     * and is then not cached), all at once: a chain's records are scattered over the WAL, and the
     * calls' round trips then overlap instead of adding up.
     */
    private void fetch(List<long[]> runs, Map<Long, byte[]> pages) {
        List<long[]> ranges = new ArrayList<>(runs.size());
        List<CompletableFuture<byte[]>> reads = new ArrayList<>(runs.size());
        for (long[] run : runs) {
            long start = run[0];
            long stop = Long.compareUnsigned(run[1], durableBelow) > 0 ? durableBelow : run[1];
            if (Long.compareUnsigned(stop, start) <= 0) {
                throw new PageNotMaterializableException("WAL at " + Lsn.format(start) + " is not durable at WAL service "
                        + target + " (durable below " + Lsn.format(durableBelow) + ")");
            }
            ranges.add(new long[] {start, stop});
            reads.add(read(start, stop));
        }
        for (int i = 0; i < reads.size(); i++) {
            byte[] bytes;
            try {
                bytes = reads.get(i).join();
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof StatusRuntimeException s ? relayed(s) : e;
            }
            long start = ranges.get(i)[0];
            for (var e : keepPages(start, bytes).entrySet()) {
                pages.put(e.getKey(), e.getValue());
            }
        }
    }

    /**
     * Splits WAL read from {@code start} (a page boundary) into its pages and caches them. A page cut
     * short (at the durable end) is cached too, and replaced by a longer copy when one arrives: WAL
     * below the durable end never changes, so what it holds stays right.
     */
    private Map<Long, byte[]> keepPages(long start, byte[] bytes) {
        Map<Long, byte[]> out = new HashMap<>();
        long stop = start + bytes.length;
        for (long p = start; p < stop; p += WAL_PAGE) {
            int n = (int) Math.min(WAL_PAGE, stop - p);
            byte[] page = java.util.Arrays.copyOfRange(bytes, (int) (p - start), (int) (p - start) + n);
            out.put(p, page);
            walPages.asMap().merge(p, page, (old, now) -> now.length >= old.length ? now : old);
        }
        return out;
    }

    /** ReadWal of [start, stop), asynchronously. */
    private CompletableFuture<byte[]> read(long start, long stop) {
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        byte[] bytes = new byte[(int) (stop - start)];
        reconnectIfFailing();
        asyncStub.withDeadlineAfter(CALL_SLACK_MS, TimeUnit.MILLISECONDS).readWal(
                ReadWalRequest.newBuilder().setStartLsn(start).setEndLsn(stop).build(), new StreamObserver<>() {
                    @Override
                    public void onNext(WalChunk c) {
                        c.getData().copyTo(bytes, (int) (c.getStartLsn() - start));
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(bytes);
                    }
                });
        return done;
    }

    /**
     * A source for reading WAL front to back below {@code end} (a durable position, e.g. the
     * indexed LSN), fetched in windows of 1 MiB: for decoding a stretch of records in order.
     */
    public WalSource sequential(long end) {
        int window = 1 << 20;
        long[] held = {-1};
        byte[][] bytes = {null};
        return (lsn, dst, off, len) -> {
            if (Long.compareUnsigned(lsn, end) >= 0) {
                return 0;
            }
            if (held[0] < 0 || lsn < held[0] || lsn >= held[0] + bytes[0].length) {
                long start = lsn & -WAL_PAGE;
                long stop = Long.compareUnsigned(start + window, end) > 0 ? end : start + window;
                try {
                    bytes[0] = read(start, stop).join();
                } catch (java.util.concurrent.CompletionException e) {
                    throw e.getCause() instanceof StatusRuntimeException s ? relayed(s) : e;
                }
                held[0] = start;
            }
            int from = (int) (lsn - held[0]);
            int n = Math.min(len, bytes[0].length - from);
            System.arraycopy(bytes[0], from, dst, off, n);
            return n;
        };
    }

    /**
     * Whether the WAL service can serve WAL at {@code lsn} (from its local WAL or its archive): false
     * for WAL from before it started following the cluster.
     */
    public boolean hasWalAt(long lsn) {
        try {
            read(lsn, lsn + 1).join();
            return true;
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return false;
            }
            throw e.getCause() instanceof StatusRuntimeException s ? relayed(s) : e;
        }
    }

    /** The cluster's WAL segment size, as the WAL service reports it. */
    public int segmentSize() {
        return layout().getWalSegmentSize();
    }

    /** The cluster's system identifier, as the WAL service reports it. */
    public long systemIdentifier() {
        return layout().getSystemIdentifier();
    }

    /**
     * Where the WAL service's per-page index ends, asked now: WAL below it is durable there, and
     * it ends at a record boundary, at or below any branch a failover makes.
     */
    public long indexedLsn() {
        try {
            return positions().getIndexedLsn();
        } catch (StatusRuntimeException e) {
            throw relayed(e);
        }
    }

    /** The WAL service's positions, asked now (status and metrics). */
    public Positions currentPositions() {
        try {
            return positions();
        } catch (StatusRuntimeException e) {
            throw relayed(e);
        }
    }

    /** The address asked. */
    public String target() {
        return target;
    }

    private Positions layout() {
        Positions l = layout;
        if (l == null) {
            try {
                l = positions();
            } catch (StatusRuntimeException e) {
                throw relayed(e);
            }
            if (l.getWalSegmentSize() == 0) {
                throw Status.UNAVAILABLE.withDescription("WAL service " + target + " has not connected to its primary yet")
                        .asRuntimeException();
            }
            layout = l;
        }
        return l;
    }

    private Positions positions() {
        return framed.call("GetPositions", GetPositionsRequest.getDefaultInstance(), Positions.parser());
    }

    /**
     * A page server may start before its WAL service, or see it restart: the channel, having failed
     * to connect, would fail every call for its backoff (a standby's reads then fail with EIO).
     */
    private void reconnectIfFailing() {
        ChannelReconnect.awaitIfFailing(channel, reconnect);
    }

    /** The WAL service's failure, with its code, saying where it came from. */
    private StatusRuntimeException relayed(StatusRuntimeException e) {
        return e.getStatus().withDescription("WAL service " + target + ": " + e.getStatus().getDescription()).asRuntimeException();
    }

    @Override
    public void close() {
        framed.close();
        channel.shutdownNow();
    }
}
