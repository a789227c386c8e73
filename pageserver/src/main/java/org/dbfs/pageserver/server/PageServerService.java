package org.dbfs.pageserver.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStoreUnavailableException;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.datadir.PointResolver;
import org.dbfs.pageserver.datadir.WalEnd;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsReply;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsRequest;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotReply;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotRequest;
import org.dbfs.protocol.pageserver.v1.ResolvePointReply;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.journal.JournalFullException;
import org.dbfs.pageserver.format.BranchRegistration;
import org.dbfs.pageserver.store.BeforeHorizonException;
import org.dbfs.pageserver.store.BranchPin;
import org.dbfs.pageserver.store.BranchRefusedException;
import org.dbfs.pageserver.store.BranchRegistry;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.v1.BranchInfo;
import org.dbfs.protocol.pageserver.v1.CreateBranchReply;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchReply;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesReply;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.RelTagRecords;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.GetWalEndReply;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.dbfs.protocol.pageserver.v1.HoldReaderReply;
import org.dbfs.protocol.pageserver.v1.HoldReaderRequest;
import org.dbfs.protocol.pageserver.v1.LinkRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.MutationReply;
import org.dbfs.protocol.pageserver.v1.NodeReply;
import org.dbfs.protocol.pageserver.v1.PageImage;
import org.dbfs.protocol.pageserver.v1.PageRef;
import org.dbfs.protocol.pageserver.v1.PageServerGrpc;
import org.dbfs.protocol.pageserver.v1.PageWrite;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.dbfs.protocol.pageserver.v1.ReadDirReply;
import org.dbfs.protocol.pageserver.v1.ReadDirRequest;
import org.dbfs.protocol.pageserver.v1.ReadFileReply;
import org.dbfs.protocol.pageserver.v1.ReadFileRequest;
import org.dbfs.protocol.pageserver.v1.ReadLinkReply;
import org.dbfs.protocol.pageserver.v1.ReadLinkRequest;
import org.dbfs.protocol.pageserver.v1.RemoveRequest;
import org.dbfs.protocol.pageserver.v1.RenameRequest;
import org.dbfs.pageserver.status.ClusterStatusReport;
import org.dbfs.protocol.pageserver.v1.ClusterStatus;
import org.dbfs.protocol.pageserver.v1.ClusterStatusRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsReply;
import org.dbfs.protocol.pageserver.v1.StatFsRequest;
import org.dbfs.protocol.pageserver.v1.SyncReply;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.dbfs.fencing.ClusterLease;
import org.dbfs.fencing.ClusterLeaseStore;
import org.dbfs.fencing.LeaseChangedException;
import org.dbfs.pageserver.store.TimelineBranch;
import org.dbfs.protocol.pageserver.v1.AcquireWriterRequest;
import org.dbfs.protocol.pageserver.v1.BranchReply;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.protocol.pageserver.v1.FenceRequest;
import org.dbfs.protocol.pageserver.v1.RenewWriterRequest;
import org.dbfs.protocol.pageserver.v1.WriterLeaseReply;
import org.dbfs.fencing.WriterRefusedException;
import org.dbfs.pageserver.store.StaleEpochException;
import org.dbfs.pageserver.store.WriterEpoch;
import org.dbfs.protocol.pageserver.WriterAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC face of a page store; the contract is in pageserver.proto.
 *
 * <p>Threading: the server runs handlers on its Netty event loops (direct executor), which saves
 * two thread hand-offs per call; a round trip from a FUSE thread costs tens of microseconds per
 * hand-off on these machines. So handlers must not block: durable replies are sent by the
 * journal's sync thread when the fsync completes, and calls that may read a segment object
 * (page and file reads, a truncation or partial-block write that reads the block it cuts) go to
 * the {@code blocking} pool.
 */
final class PageServerService extends PageServerGrpc.PageServerImplBase {
    private static final Logger log = LoggerFactory.getLogger(PageServerService.class);
    private static final int PAGE_SIZE = FileSystemOps.BLOCK_SIZE;

    private final PageStore store;
    private final FileSystemOps fs;
    private final Executor blocking;
    private final PageMaterializer materializer;
    private final boolean threadPerCall;
    private final ReadOnlyConnections readOnly;
    private final String walService;
    private final ClusterLeaseStore leases;
    private final PointResolver resolver;
    private volatile String branch = "";
    private volatile ClusterStatusReport status;

    /**
     * For gRPC: handlers on the event loops, blocking work on {@code blocking}, durable replies
     * sent by the journal's sync thread.
     *
     * @param materializer GetPage@LSN, or null when the server has no WAL service
     * @param readOnly     the read-only connections' counters, for ServerInfo
     * @param walService   the WAL service's address, or "" without one
     */
    PageServerService(PageStore store, Executor blocking, PageMaterializer materializer, ReadOnlyConnections readOnly,
                      String walService, ClusterLeaseStore leases, PointResolver resolver) {
        this(store, blocking, materializer, false, readOnly, walService, leases, resolver);
    }

    private PageServerService(PageStore store, Executor blocking, PageMaterializer materializer, boolean threadPerCall,
                              ReadOnlyConnections readOnly, String walService, ClusterLeaseStore leases,
                              PointResolver resolver) {
        this.store = store;
        this.fs = new FileSystemOps(store);
        this.blocking = blocking;
        this.materializer = materializer;
        this.threadPerCall = threadPerCall;
        this.readOnly = readOnly;
        this.walService = walService;
        this.leases = leases;
        this.resolver = resolver;
    }

    /**
     * For a caller that gives each call its own thread ({@link FramedServer}): everything runs
     * on it, and a durable reply waits there, fsyncing itself when no fsync is under way.
     */
    static PageServerService onCallerThread(PageStore store, PageMaterializer materializer, ReadOnlyConnections readOnly,
                                            String walService, ClusterLeaseStore leases, PointResolver resolver) {
        return new PageServerService(store, Runnable::run, materializer, true, readOnly, walService, leases, resolver);
    }

    @Override
    public void getPages(GetPagesRequest req, StreamObserver<GetPagesReply> out) {
        blocking.execute(() -> serve(out, () -> {
            GetPagesReply.Builder reply = GetPagesReply.newBuilder();
            for (PageRef ref : req.getPagesList()) {
                PageStore.StoredBlock page = store.readPage(RelTagMessages.of(ref.getRel()),
                        Integer.toUnsignedLong(ref.getBlockNum()), req.getAsOfLsn());
                PageImage.Builder image = PageImage.newBuilder().setPage(ref);
                if (page == null) {
                    image.setAbsent(true);
                } else {
                    image.setLsn(page.lsn()).setData(ByteString.copyFrom(page.data()));
                }
                reply.addPages(image);
            }
            return done(reply.build());
        }));
    }

    @Override
    public void getPageAtLsn(GetPageAtLsnRequest req, StreamObserver<GetPageAtLsnReply> out) {
        blocking.execute(() -> serve(out, () -> done(GetPageAtLsnCall.serve(materializerFor(req), req))));
    }

    /** The shared materializer; for a branch's pinned read, one that sees only the versions before its cut. */
    private PageMaterializer materializerFor(GetPageAtLsnRequest req) {
        if (req.getPin().isEmpty() || materializer == null) {
            return materializer;
        }
        BranchPin pin = store.branches().pin(req.getPin());
        if (req.getLsn() != pin.xEnd()) {
            throw Status.INVALID_ARGUMENT.withDescription("branch " + pin.branch() + " reads this page server at its X_end "
                    + Lsn.format(pin.xEnd()) + " only, not at " + Lsn.format(req.getLsn())).asRuntimeException();
        }
        return materializer.over((rel, block, lsn) -> store.readPinned(rel, block, pin));
    }

    @Override
    public void putPages(PutPagesRequest req, StreamObserver<MutationReply> out) {
        serve(out, asCaller(() -> {
            JournalRecord.Builder record = JournalRecord.newBuilder();
            for (PageWrite w : req.getPagesList()) {
                if (w.getData().size() != PAGE_SIZE) {
                    throw Status.INVALID_ARGUMENT.withDescription("page data must be " + PAGE_SIZE + " bytes, got "
                            + w.getData().size()).asRuntimeException();
                }
                record.addPages(PageVersionRecord.newBuilder()
                        .setRel(RelTagRecords.toRecord(RelTagMessages.of(w.getPage().getRel())))
                        .setBlockNum(w.getPage().getBlockNum()).setLsn(w.getLsn()).setData(w.getData()));
            }
            PageStore.Commit commit = store.commit(record);
            MutationReply reply = MutationReply.newBuilder().setIncarnation(store.incarnation()).build();
            return durably(new FileSystemOps.Applied<>(reply, commit.token()), req.getDurable(),
                    r -> r.toBuilder().setDurable(true).build());
        }));
    }

    @Override
    public void getAttr(GetAttrRequest req, StreamObserver<NodeReply> out) {
        serve(out, () -> done(fs.getAttr(req.getPath(), req.getIno())));
    }

    @Override
    public void readDir(ReadDirRequest req, StreamObserver<ReadDirReply> out) {
        serve(out, () -> done(fs.readDir(req.getPath())));
    }

    @Override
    public void makeNode(MakeNodeRequest req, StreamObserver<NodeReply> out) {
        serve(out, asCaller(() -> durably(fs.makeNode(req), req.getDurable(), PageServerService::markDurable)));
    }

    @Override
    public void link(LinkRequest req, StreamObserver<NodeReply> out) {
        serve(out, asCaller(() -> durably(fs.link(req.getFrom(), req.getTo()), req.getDurable(), PageServerService::markDurable)));
    }

    @Override
    public void remove(RemoveRequest req, StreamObserver<MutationReply> out) {
        serve(out, asCaller(() -> durably(fs.remove(req.getPath(), req.getDirectory()), req.getDurable(),
                PageServerService::markDurable)));
    }

    @Override
    public void rename(RenameRequest req, StreamObserver<MutationReply> out) {
        serve(out, asCaller(() -> durably(fs.rename(req.getFrom(), req.getTo(), req.getNoReplace()), req.getDurable(),
                PageServerService::markDurable)));
    }

    @Override
    public void setAttr(SetAttrRequest req, StreamObserver<NodeReply> out) {
        Call<NodeReply> write = asCaller(() -> durably(fs.setAttr(req), req.getDurable(), PageServerService::markDurable));
        Runnable call = () -> serve(out, write);
        if (req.hasSize()) {
            blocking.execute(call); // may read the block the new size cuts through
        } else {
            call.run();
        }
    }

    @Override
    public void readLink(ReadLinkRequest req, StreamObserver<ReadLinkReply> out) {
        serve(out, () -> done(fs.readLink(req.getPath())));
    }

    @Override
    public void statFs(StatFsRequest req, StreamObserver<StatFsReply> out) {
        // The bucket has no meaningful capacity; report a large, constant one so tools don't balk.
        serve(out, () -> done(StatFsReply.newBuilder().setBlockSize(PAGE_SIZE).setTotalBlocks(1L << 37)
                .setFreeBlocks(1L << 36).setTotalInodes(1L << 32).setFreeInodes(1L << 31).build()));
    }

    @Override
    public void readFile(ReadFileRequest req, StreamObserver<ReadFileReply> out) {
        blocking.execute(() -> serve(out, () -> done(fs.readFile(req.getIno(), req.getOffset(), req.getLength()))));
    }

    @Override
    public void writeFile(WriteFileRequest req, StreamObserver<MutationReply> out) {
        Call<MutationReply> write = asCaller(() -> durably(fs.writeFile(req), req.getDurable(),
                PageServerService::markDurable));
        Runnable call = () -> serve(out, write);
        if (FileSystemOps.isWholeBlocks(req)) {
            call.run(); // whole blocks: nothing to read first
        } else {
            blocking.execute(call);
        }
    }

    @Override
    public void sync(SyncRequest req, StreamObserver<SyncReply> out) {
        long epoch = WriterAccess.CALLER_EPOCH.get();
        serve(out, () -> {
            if (epoch != 0) {
                store.checkEpoch(epoch); // a fenced writer must not hear that its writes became durable
            }
            if (req.getIncarnation() != 0 && req.getIncarnation() != store.incarnation()) {
                throw Status.FAILED_PRECONDITION.withDescription("the page server restarted (incarnation "
                        + req.getIncarnation() + " is gone, now " + store.incarnation()
                        + "): writes acknowledged before the restart but not synced may be lost").asRuntimeException();
            }
            SyncReply reply = SyncReply.newBuilder().setIncarnation(store.incarnation()).build();
            if (threadPerCall) {
                store.awaitAllDurable();
                return done(reply);
            }
            return store.whenAllDurable().thenApply(v -> reply);
        });
    }

    @Override
    public void serverInfo(ServerInfoRequest req, StreamObserver<ServerInfoReply> out) {
        serve(out, () -> done(ServerInfoReply.newBuilder().setIncarnation(store.incarnation()).setBucket(store.bucket())
                .setLastSeq(store.lastSeq()).setPackedSeq(store.packedSeq()).setSegments(store.segmentCount())
                .setWalService(walService).setBranch(branch).setReadOnlyCalls(readOnly.calls()).setReadOnlyWritesRefused(readOnly.refused())
                .setWriterEpoch(store.epoch()).setFencedWritesRefused(store.staleEpochRefusals())
                .setTimeline(store.timelines().current().timeline())
                .setTimelineBranchLsn(store.timelines().current().branchLsn())
                .setGcHorizonLsn(store.horizonLsn())
                .build()));
    }

    @Override
    public void branch(BranchRequest req, StreamObserver<BranchReply> out) {
        Call<BranchReply> call = asCaller(() -> {
            long startSeq = TimelineBranch.apply(store, req);
            store.awaitAllDurable(); // a promotion goes on only once its timeline is durable
            log.info("branched {} with {} namespace entries", store.timelines(), req.getEntriesCount());
            return done(BranchReply.newBuilder().setTimeline(req.getTimeline()).setStartSeq(startSeq).build());
        });
        blocking.execute(() -> serve(out, call));
    }

    @Override
    public void acquireWriter(AcquireWriterRequest req, StreamObserver<WriterLeaseReply> out) {
        blocking.execute(() -> serve(out, () -> { // reads and writes the object store
            if (req.getHolder().isEmpty()) {
                throw Status.INVALID_ARGUMENT.withDescription("AcquireWriter needs a holder").asRuntimeException();
            }
            ClusterLeaseStore.Current c = leases.acquire(req.getHolder());
            store.raiseEpoch(c.lease().epoch());
            log.info("writer lease: {} acquired {}", req.getHolder(), c.lease().summary());
            return done(leaseReply(c.lease()));
        }));
    }

    @Override
    public void renewWriter(RenewWriterRequest req, StreamObserver<WriterLeaseReply> out) {
        blocking.execute(() -> serve(out, () -> {
            try {
                ClusterLeaseStore.Current c = leases.renew(req.getEpoch(), req.getRelease());
                if (req.getRelease()) {
                    log.info("writer lease: {} released epoch {}", c.lease().holder(), req.getEpoch());
                }
                return done(leaseReply(c.lease()));
            } catch (WriterRefusedException e) {
                leases.read().ifPresent(c -> store.raiseEpoch(c.lease().epoch())); // it moved: fence here too
                throw e;
            }
        }));
    }

    @Override
    public void fence(FenceRequest req, StreamObserver<WriterLeaseReply> out) {
        blocking.execute(() -> serve(out, () -> {
            ClusterLeaseStore.Current c = leases.read().orElseThrow(() -> Status.FAILED_PRECONDITION
                    .withDescription("there is no cluster lease in the bucket: nothing to fence").asRuntimeException());
            store.raiseEpoch(c.lease().epoch());
            return done(leaseReply(c.lease()));
        }));
    }

    private static WriterLeaseReply leaseReply(ClusterLease l) {
        return WriterLeaseReply.newBuilder().setEpoch(l.epoch()).setTimeline(l.timeline()).setHolder(l.holder())
                .setExpiresAtMs(l.expiresAt().toEpochMilli()).build();
    }

    @Override
    public void holdReader(HoldReaderRequest req, StreamObserver<HoldReaderReply> out) {
        blocking.execute(() -> serve(out, () -> { // a write to the object store
            if (req.getId().isEmpty() || (!req.getRelease() && (req.getLsn() == 0 || req.getTtlSeconds() == 0))) {
                throw Status.INVALID_ARGUMENT.withDescription("HoldReader needs an id, and an lsn and ttl_seconds to hold")
                        .asRuntimeException();
            }
            if (req.getRelease()) {
                store.readers().release(req.getId());
            } else {
                store.readers().hold(req.getId(), req.getLsn(), req.getHolder(), Duration.ofSeconds(req.getTtlSeconds()));
            }
            return done(HoldReaderReply.getDefaultInstance());
        }));
    }

    @Override
    public void getWalEnd(GetWalEndRequest req, StreamObserver<GetWalEndReply> out) {
        blocking.execute(() -> serve(out, () -> {
            try {
                WalEnd.Found end = WalEnd.find(fs);
                return done(GetWalEndReply.newBuilder().setLsn(end.lsn()).setTimeline(end.timeline())
                        .setSegment(end.segment()).setWalSegmentSize(end.segmentSize())
                        .setSystemIdentifier(end.systemIdentifier()).build());
            } catch (WalEnd.NotFoundException e) {
                throw Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException();
            }
        }));
    }

    /** This page server serves branch {@code name} of another cluster (ServerInfo says so). */
    PageServerService servingBranch(String name) {
        this.branch = name;
        return this;
    }

    /** Where GetClusterStatus reads the cluster's state. */
    PageServerService reportingStatus(ClusterStatusReport report) {
        this.status = report;
        return this;
    }

    @Override
    public void getClusterStatus(ClusterStatusRequest req, StreamObserver<ClusterStatus> out) {
        // Reads the bucket and asks the WAL service: off the event loop.
        blocking.execute(() -> serve(out, () -> done(status.fresh())));
    }

    @Override
    public void listSnapshots(ListSnapshotsRequest req, StreamObserver<ListSnapshotsReply> out) {
        serve(out, () -> done(ListSnapshotsReply.newBuilder().addAllSnapshots(store.snapshots().list()).build()));
    }

    @Override
    public void readSnapshot(ReadSnapshotRequest req, StreamObserver<ReadSnapshotReply> out) {
        blocking.execute(() -> serve(out, () -> { // an object store read
            if (store.snapshots().list().stream().noneMatch(s -> s.getName().equals(req.getName()))) {
                throw Status.NOT_FOUND.withDescription("no data-directory snapshot " + req.getName() + " in "
                        + store.bucket() + " (collected, or never taken)").asRuntimeException();
            }
            byte[] all = store.snapshots().read(req.getName());
            int max = req.getMaxBytes() == 0 ? 4 << 20 : req.getMaxBytes();
            int from = (int) Math.min(all.length, req.getOffset());
            int n = Math.min(max, all.length - from);
            return done(ReadSnapshotReply.newBuilder().setData(ByteString.copyFrom(all, from, n))
                    .setTotalSize(all.length).build());
        }));
    }

    @Override
    public void resolvePoint(ResolvePointRequest req, StreamObserver<ResolvePointReply> out) {
        blocking.execute(() -> serve(out, () -> done(resolve("ResolvePoint", req)))); // reads and decodes WAL from the WAL service
    }

    private ResolvePointReply resolve(String call, ResolvePointRequest req) {
        if (resolver == null) {
            throw Status.FAILED_PRECONDITION.withDescription("this page server runs without --walservice: points in the"
                    + " past are read through the WAL service's index").asRuntimeException();
        }
        return switch (req.getPointCase()) {
            case LSN -> resolver.resolveLsn(req.getLsn());
            case TIME_US -> resolver.resolveTime(req.getTimeUs());
            case POINT_NOT_SET -> throw Status.INVALID_ARGUMENT.withDescription(call + " needs an lsn or a time_us")
                    .asRuntimeException();
        };
    }

    @Override
    public void createBranch(CreateBranchRequest req, StreamObserver<CreateBranchReply> out) {
        blocking.execute(() -> serve(out, () -> { // resolves through the WAL service, writes to the object store
            store.branches().checkNew(req.getName()); // a bad or taken name fails before the slower work
            ResolvePointReply point = resolve("CreateBranch", req.getPoint());
            BranchRegistration created = store.branches().create(req.getName(), point.getLsn(), point.getSnapshot().getName());
            return done(CreateBranchReply.newBuilder().setBranch(branchInfo(created)).build());
        }));
    }

    @Override
    public void listBranches(ListBranchesRequest req, StreamObserver<ListBranchesReply> out) {
        blocking.execute(() -> serve(out, () -> { // with sizes, one object store stat per object
            ListBranchesReply.Builder reply = ListBranchesReply.newBuilder();
            for (BranchRegistration r : store.branches().list()) {
                BranchInfo.Builder info = branchInfo(r).toBuilder();
                if (req.getSizes()) {
                    BranchRegistry.Usage usage = store.branches().usage(r.getName());
                    info.setObjects(usage.objects()).setSizeBytes(usage.bytes());
                }
                reply.addBranches(info);
            }
            return done(reply.build());
        }));
    }

    @Override
    public void deleteBranch(DeleteBranchRequest req, StreamObserver<DeleteBranchReply> out) {
        blocking.execute(() -> serve(out, () -> done(DeleteBranchReply.newBuilder() // deletes objects
                .setObjectsDeleted(store.branches().delete(req.getName())).build())));
    }

    private static BranchInfo branchInfo(BranchRegistration r) {
        return BranchInfo.newBuilder().setName(r.getName()).setXEnd(r.getXEnd()).setTimeline(r.getTimeline())
                .setParentCutSeq(r.getParentCutSeq()).setSnapshot(r.getSnapshot()).setCreatedAtMs(r.getCreatedAtMs())
                .setStateValue(r.getStateValue()).setPrefix(r.getPrefix()).build();
    }

    private static NodeReply markDurable(NodeReply r) {
        return r.toBuilder().setDurable(true).build();
    }

    private static MutationReply markDurable(MutationReply r) {
        return r.toBuilder().setDurable(true).build();
    }

    private static <T> CompletableFuture<T> done(T reply) {
        return CompletableFuture.completedFuture(reply);
    }

    /**
     * The reply now, or, if the caller asked for durability and the mutation succeeded, once the
     * journal is durable up to it. A mutation that wrote nothing (an existing file "created"
     * again) waits for everything acknowledged so far, which includes whatever created it.
     */
    private <T> CompletableFuture<T> durably(FileSystemOps.Applied<T> applied, boolean durable,
                                             java.util.function.UnaryOperator<T> mark) throws IOException {
        if (!durable || errnoOf(applied.reply()) != 0) {
            return done(applied.reply());
        }
        if (threadPerCall) {
            if (applied.token() != 0) {
                store.awaitDurable(applied.token());
            } else {
                store.awaitAllDurable();
            }
            return done(mark.apply(applied.reply()));
        }
        CompletableFuture<Void> wait = applied.token() != 0 ? store.whenDurable(applied.token()) : store.whenAllDurable();
        return wait.thenApply(v -> mark.apply(applied.reply()));
    }

    private static int errnoOf(Object reply) {
        return switch (reply) {
            case NodeReply r -> r.getErrno();
            case MutationReply r -> r.getErrno();
            default -> 0;
        };
    }

    private interface Call<T> {
        CompletableFuture<T> run() throws IOException;
    }

    /**
     * A write call run as the calling connection's writer epoch, taken now (on the thread the
     * transport called us on, where the call's context is attached), so that the page store can
     * refuse it if that epoch was fenced.
     */
    private static <T> Call<T> asCaller(Call<T> call) {
        long epoch = WriterAccess.CALLER_EPOCH.get();
        return () -> ScopedValue.where(WriterEpoch.CALLER, epoch).call(call::run);
    }

    /** Runs a call and sends its reply or its failure, mapped to the status codes the contract promises. */
    private static <T> void serve(StreamObserver<T> out, Call<T> call) {
        CompletableFuture<T> reply;
        try {
            reply = call.run();
        } catch (Throwable e) {
            out.onError(statusOf(e));
            return;
        }
        reply.whenComplete((r, e) -> {
            if (e != null) {
                out.onError(statusOf(e instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                        ? c.getCause() : e));
            } else {
                out.onNext(r);
                out.onCompleted();
            }
        });
    }

    private static StatusRuntimeException statusOf(Throwable e) {
        return switch (e) {
            case StatusRuntimeException s -> s;
            case IntegrityException i -> {
                log.error("integrity failure: {}", i.getMessage());
                yield Status.DATA_LOSS.withDescription(i.getMessage()).asRuntimeException();
            }
            case ObjectStoreUnavailableException u -> Status.UNAVAILABLE.withDescription(u.getMessage()).asRuntimeException();
            case BeforeHorizonException h -> Status.OUT_OF_RANGE.withDescription(h.getMessage()).asRuntimeException();
            case TimelineBranch.RefusedException b -> (b.badRequest ? Status.INVALID_ARGUMENT : Status.FAILED_PRECONDITION)
                    .withDescription(b.getMessage()).asRuntimeException();
            case BranchRefusedException b -> (switch (b.reason) {
                case EXISTS -> Status.ALREADY_EXISTS;
                case NOT_FOUND -> Status.NOT_FOUND;
                case BAD_NAME -> Status.INVALID_ARGUMENT;
                case OUT_OF_RANGE -> Status.OUT_OF_RANGE;
                case NOT_NOW -> Status.FAILED_PRECONDITION;
            }).withDescription(b.getMessage()).asRuntimeException();
            case StaleEpochException f -> Status.FAILED_PRECONDITION.withDescription(f.getMessage()).asRuntimeException();
            case WriterRefusedException w -> Status.FAILED_PRECONDITION.withDescription(w.getMessage()).asRuntimeException();
            case LeaseChangedException c -> Status.ABORTED.withDescription(c.getMessage()).asRuntimeException();
            case JournalFullException full -> {
                log.error("request failed: {}", full.getMessage());
                yield Status.RESOURCE_EXHAUSTED.withDescription(full.getMessage()).asRuntimeException();
            }
            case IOException io -> {
                log.error("request failed: {}", io.getMessage());
                yield Status.INTERNAL.withDescription(io.getMessage()).asRuntimeException();
            }
            default -> {
                log.error("request failed", e);
                yield Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException();
            }
        };
    }
}
