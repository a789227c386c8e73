package org.dbfs.walservice.server;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.pgformat.BufferTag;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.walservice.PageRecordsRequests;
import org.dbfs.protocol.walservice.v1.GetPageRecordsReply;
import org.dbfs.protocol.walservice.v1.GetPageRecordsRequest;
import org.dbfs.protocol.walservice.v1.GetPositionsRequest;
import org.dbfs.protocol.walservice.v1.PageRecord;
import org.dbfs.protocol.walservice.v1.Positions;
import org.dbfs.protocol.walservice.v1.ReadWalRequest;
import org.dbfs.protocol.walservice.v1.WalChunk;
import org.dbfs.protocol.walservice.v1.WalServiceGrpc;
import java.io.IOException;
import org.dbfs.protocol.framed.FramedMethods;
import java.util.ArrayList;
import java.util.List;
import org.dbfs.protocol.walservice.v1.AppendWalRequest;
import org.dbfs.protocol.walservice.v1.WalFenceReply;
import org.dbfs.protocol.walservice.v1.WalFenceRequest;
import org.dbfs.protocol.walservice.v1.WalFollowRequest;
import org.dbfs.walservice.replication.PrimaryRefusedException;
import org.dbfs.walservice.replication.WalReceiver;
import org.dbfs.walservice.index.IndexedRecord;
import org.dbfs.walservice.index.WalIndex;
import org.dbfs.walservice.wal.WalNotAvailableException;
import org.dbfs.walservice.wal.WalPositions;

/**
 * The service's calls. On gRPC, handlers run on the server's executor (a cached pool), because
 * ReadWal may wait for WAL to become durable and reads files and the bucket; in the framing
 * ({@link #framedMethods}, what page servers use for GetPage@LSN) they run on the connection's own
 * thread, which may block.
 */
final class WalServiceEndpoint extends WalServiceGrpc.WalServiceImplBase {
    static final int CHUNK_BYTES = 1 << 20;
    static final long DEFAULT_WAIT_MS = 10_000;

    private final WalPositions positions;
    private static final int WAL_PAGE = 8192;
    /** At most this much WAL rides along with the records (a long history of one page, a VM page's, could be far more). */
    private static final long WITH_WAL_MAX_BYTES = 4L << 20;
    private final WalBytesReader reader;
    private final WalIndex index;
    private final WalReceiver receiver;

    WalServiceEndpoint(WalPositions positions, WalBytesReader reader, WalIndex index, WalReceiver receiver) {
        this.positions = positions;
        this.reader = reader;
        this.index = index;
        this.receiver = receiver;
    }

    /** The unary calls, for the framed listener on the public port (ReadWal streams: gRPC only). */
    FramedMethods framedMethods() {
        return new FramedMethods(
                FramedMethods.unary("GetPageRecords", GetPageRecordsRequest.parser(), this::getPageRecords),
                FramedMethods.unary("GetPositions", GetPositionsRequest.parser(), this::getPositions),
                FramedMethods.unary("Fence", WalFenceRequest.parser(), this::fence),
                FramedMethods.unary("Follow", WalFollowRequest.parser(), this::follow),
                FramedMethods.unary("AppendWal", AppendWalRequest.parser(), this::appendWal));
    }

    @Override
    public void fence(WalFenceRequest req, StreamObserver<WalFenceReply> out) {
        if (req.getEpoch() == 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("Fence needs the new epoch").asRuntimeException());
            return;
        }
        try {
            long f = receiver.fence(req.getEpoch());
            out.onNext(WalFenceReply.newBuilder().setFenceLsn(f).setTimeline(positions.timeline())
                    .setEpoch(receiver.fencedEpoch()).setRecordEndLsn(LastRecordEnd.find(reader, positions, f)).build());
            out.onCompleted();
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("fence failed: " + e.getMessage()).asRuntimeException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.withDescription("interrupted").asRuntimeException());
        }
    }

    @Override
    public void appendWal(AppendWalRequest req, StreamObserver<Positions> out) {
        try {
            receiver.appendWhileFenced(req.getEpoch(), req.getStartLsn(), req.getData().toByteArray());
            out.onNext(snapshot(positions, index, receiver));
            out.onCompleted();
        } catch (PrimaryRefusedException e) {
            out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("append failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void follow(WalFollowRequest req, StreamObserver<Positions> out) {
        try {
            receiver.follow(req.getEpoch(), req.getPrimary(), req.getTimeline(), req.getSwitchLsn());
            out.onNext(snapshot(positions, index, receiver));
            out.onCompleted();
        } catch (PrimaryRefusedException | IllegalArgumentException e) {
            out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException());
        } catch (IOException e) {
            out.onError(Status.INTERNAL.withDescription("follow failed: " + e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void readWal(ReadWalRequest req, StreamObserver<WalChunk> out) {
        long start = req.getStartLsn();
        long end = req.getEndLsn();
        if (Long.compareUnsigned(end, start) < 0) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("end_lsn " + Lsn.format(end) + " is before start_lsn "
                    + Lsn.format(start)).asRuntimeException());
            return;
        }
        try {
            long waitMs = req.getMaxWaitMs() == 0 ? DEFAULT_WAIT_MS : req.getMaxWaitMs();
            var deadline = Context.current().getDeadline();
            if (deadline != null) {
                waitMs = Math.min(waitMs, deadline.timeRemaining(TimeUnit.MILLISECONDS));
            }
            long waitUntil = System.nanoTime() + waitMs * 1_000_000;
            long flushed;
            while ((flushed = positions.flushed()) < end) {
                long left = (waitUntil - System.nanoTime()) / 1_000_000;
                if (left <= 0 || Context.current().isCancelled()) {
                    out.onError(Status.OUT_OF_RANGE.withDescription("WAL up to " + Lsn.format(end)
                            + " did not become durable within " + waitMs + " ms; flushed up to " + Lsn.format(flushed))
                            .asRuntimeException());
                    return;
                }
                positions.awaitFlushedBeyond(end - 1, left);
            }
            for (long lsn = start; lsn < end; lsn += CHUNK_BYTES) {
                long chunkEnd = Math.min(end, lsn + CHUNK_BYTES);
                byte[] data = reader.readLocalOrArchive(lsn, chunkEnd);
                out.onNext(WalChunk.newBuilder().setStartLsn(lsn).setData(ByteString.copyFrom(data)).build());
            }
            out.onCompleted();
        } catch (WalNotAvailableException e) {
            out.onError(Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException());
        } catch (IntegrityException e) {
            out.onError(Status.DATA_LOSS.withDescription(e.getMessage()).asRuntimeException());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.withDescription("server shutting down").asRuntimeException());
        } catch (Exception e) {
            out.onError(Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
        }
    }

    @Override
    public void getPageRecords(GetPageRecordsRequest req, StreamObserver<GetPageRecordsReply> out) {
        if (req.getForkNum() > ForkNumber.MAX_FORKNUM) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("fork_num must be 0..3, got " + req.getForkNum()).asRuntimeException());
            return;
        }
        BufferTag page = PageRecordsRequests.page(req);
        long to = req.getToLsn() == 0 ? -1L : req.getToLsn(); // 0: no upper bound
        try {
            if (req.getMaxWaitMs() > 0 && req.getToLsn() != 0) {
                long waitMs = req.getMaxWaitMs();
                var deadline = Context.current().getDeadline();
                if (deadline != null) {
                    waitMs = Math.min(waitMs, deadline.timeRemaining(TimeUnit.MILLISECONDS));
                }
                long indexed = positions.awaitIndexed(to, waitMs);
                if (Long.compareUnsigned(indexed, to) < 0) {
                    String error = positions.indexError();
                    out.onError(Status.OUT_OF_RANGE.withDescription("the WAL index did not reach " + Lsn.format(to)
                            + " within " + waitMs + " ms: indexed up to " + Lsn.format(indexed) + ", flushed up to "
                            + Lsn.format(positions.flushed()) + (error.isEmpty() ? "" : "; indexing stopped: " + error))
                            .asRuntimeException());
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.onError(Status.CANCELLED.withDescription("server shutting down").asRuntimeException());
            return;
        }
        long from = req.getFromLsn();
        if (req.getFromLastBase()) {
            long below = to == -1L ? -1L : to - 1;
            var base = index.lastImageOrInitAtOrBelow(page, below);
            if (base.isPresent() && Long.compareUnsigned(base.get().lsn(), from) > 0) {
                from = base.get().lsn();
            }
        }
        GetPageRecordsReply.Builder reply = GetPageRecordsReply.newBuilder().setIndexedUpTo(index.indexedUpTo());
        List<IndexedRecord> records = index.recordsTouching(page, from, to);
        for (IndexedRecord r : records) {
            reply.addRecords(PageRecord.newBuilder().setLsn(r.lsn()).setEndLsn(r.endLsn()).setLength(r.length())
                    .setHasApplyImage(r.hasApplyImage()).setWillInit(r.willInit()).setVmClear(r.vmClear()));
        }
        if (req.getWithWal()) {
            addWalPages(records, reply);
        }
        out.onNext(reply.build());
        out.onCompleted();
    }

    /**
     * The WAL pages under {@code records}, in runs of consecutive pages, cut at the durable end. A
     * failure to read leaves them out: the caller reads them with ReadWal, which reports it.
     */
    private void addWalPages(List<IndexedRecord> records, GetPageRecordsReply.Builder reply) {
        long durable = positions.flushed();
        List<long[]> runs = new ArrayList<>();
        for (IndexedRecord r : records) {
            long start = r.lsn() & -WAL_PAGE;
            long end = Math.min(durable, (r.endLsn() + WAL_PAGE - 1) & -WAL_PAGE);
            long[] last = runs.isEmpty() ? null : runs.getLast();
            if (last != null && start <= last[1]) {
                last[1] = Math.max(last[1], end);
            } else if (start < end) {
                runs.add(new long[] {start, end});
            }
        }
        List<WalChunk> chunks = new ArrayList<>(runs.size());
        long budget = WITH_WAL_MAX_BYTES;
        try {
            for (long[] run : runs) {
                long end = Math.min(run[1], run[0] + budget);
                if (end <= run[0]) {
                    break; // the rest is the caller's to read with ReadWal
                }
                chunks.add(WalChunk.newBuilder().setStartLsn(run[0])
                        .setData(ByteString.copyFrom(reader.readLocalOrArchive(run[0], end))).build());
                budget -= end - run[0];
            }
        } catch (Exception e) {
            return;
        }
        reply.addAllWal(chunks);
    }

    @Override
    public void getPositions(GetPositionsRequest req, StreamObserver<Positions> out) {
        out.onNext(snapshot(positions, index, receiver));
        out.onCompleted();
    }

    static Positions snapshot(WalPositions p, WalIndex index, WalReceiver receiver) {
        synchronized (p) {
            return Positions.newBuilder()
                    .setReceivedLsn(p.received())
                    .setFlushedLsn(p.flushed())
                    .setArchivedLsn(p.archived())
                    .setIndexedLsn(p.indexed())
                    .setTimeline(p.timeline())
                    .setWalSegmentSize(p.segmentSize())
                    .setSystemIdentifier(p.systemIdentifier())
                    .setPrimaryConnected(p.primaryConnected())
                    .setIndexError(p.indexError())
                    .setFencedEpoch(receiver.fencedEpoch())
                    .build();
        }
    }
}
