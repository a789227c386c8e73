package org.dbfs.pageserver.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import org.dbfs.pageserver.crypto.IntegrityException;
import org.dbfs.pageserver.format.JournalRecord;
import org.dbfs.pageserver.format.PageVersionRecord;
import org.dbfs.pageserver.format.RelTagRecord;
import org.dbfs.pageserver.objectstore.ObjectStoreUnavailableException;
import org.dbfs.pageserver.store.FileSystemOps;
import org.dbfs.pageserver.store.PageStore;
import org.dbfs.pageserver.store.RelTag;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesReply;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
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
import org.dbfs.protocol.pageserver.v1.ServerInfoReply;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsReply;
import org.dbfs.protocol.pageserver.v1.StatFsRequest;
import org.dbfs.protocol.pageserver.v1.SyncReply;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gRPC face of a page store; the contract is in pageserver.proto. */
final class PageServerService extends PageServerGrpc.PageServerImplBase {
    private static final Logger log = LoggerFactory.getLogger(PageServerService.class);
    private static final int PAGE_SIZE = FileSystemOps.BLOCK_SIZE;

    private final PageStore store;
    private final FileSystemOps fs;

    PageServerService(PageStore store) {
        this.store = store;
        this.fs = new FileSystemOps(store);
    }

    @Override
    public void getPages(GetPagesRequest req, StreamObserver<GetPagesReply> out) {
        serve(out, () -> {
            GetPagesReply.Builder reply = GetPagesReply.newBuilder();
            for (PageRef ref : req.getPagesList()) {
                var rel = ref.getRel();
                PageStore.StoredBlock page = store.readPage(
                        new RelTag(rel.getSpcNode(), rel.getDbNode(), rel.getRelNode(), rel.getForkNum()),
                        Integer.toUnsignedLong(ref.getBlockNum()), req.getAsOfLsn());
                PageImage.Builder image = PageImage.newBuilder().setPage(ref);
                if (page == null) {
                    image.setAbsent(true);
                } else {
                    image.setLsn(page.lsn()).setData(ByteString.copyFrom(page.data()));
                }
                reply.addPages(image);
            }
            return reply.build();
        });
    }

    @Override
    public void putPages(PutPagesRequest req, StreamObserver<MutationReply> out) {
        serve(out, () -> {
            JournalRecord.Builder record = JournalRecord.newBuilder();
            for (PageWrite w : req.getPagesList()) {
                if (w.getData().size() != PAGE_SIZE) {
                    throw Status.INVALID_ARGUMENT.withDescription("page data must be " + PAGE_SIZE + " bytes, got "
                            + w.getData().size()).asRuntimeException();
                }
                var rel = w.getPage().getRel();
                record.addPages(PageVersionRecord.newBuilder()
                        .setRel(RelTagRecord.newBuilder().setSpcNode(rel.getSpcNode()).setDbNode(rel.getDbNode())
                                .setRelNode(rel.getRelNode()).setForkNum(rel.getForkNum()))
                        .setBlockNum(w.getPage().getBlockNum()).setLsn(w.getLsn()).setData(w.getData()));
            }
            PageStore.Commit commit = store.commit(record, req.getDurable());
            return MutationReply.newBuilder().setDurable(commit.durable()).setIncarnation(store.incarnation()).build();
        });
    }

    @Override
    public void getAttr(GetAttrRequest req, StreamObserver<NodeReply> out) {
        serve(out, () -> fs.getAttr(req.getPath(), req.getIno()));
    }

    @Override
    public void readDir(ReadDirRequest req, StreamObserver<ReadDirReply> out) {
        serve(out, () -> fs.readDir(req.getPath()));
    }

    @Override
    public void makeNode(MakeNodeRequest req, StreamObserver<NodeReply> out) {
        serve(out, () -> fs.makeNode(req));
    }

    @Override
    public void remove(RemoveRequest req, StreamObserver<MutationReply> out) {
        serve(out, () -> fs.remove(req.getPath(), req.getDirectory(), req.getDurable()));
    }

    @Override
    public void rename(RenameRequest req, StreamObserver<MutationReply> out) {
        serve(out, () -> fs.rename(req.getFrom(), req.getTo(), req.getNoReplace(), req.getDurable()));
    }

    @Override
    public void setAttr(SetAttrRequest req, StreamObserver<NodeReply> out) {
        serve(out, () -> fs.setAttr(req));
    }

    @Override
    public void readLink(ReadLinkRequest req, StreamObserver<ReadLinkReply> out) {
        serve(out, () -> fs.readLink(req.getPath()));
    }

    @Override
    public void statFs(StatFsRequest req, StreamObserver<StatFsReply> out) {
        // The bucket has no meaningful capacity; report a large, constant one so tools don't balk.
        serve(out, () -> StatFsReply.newBuilder().setBlockSize(PAGE_SIZE).setTotalBlocks(1L << 37)
                .setFreeBlocks(1L << 36).setTotalInodes(1L << 32).setFreeInodes(1L << 31).build());
    }

    @Override
    public void readFile(ReadFileRequest req, StreamObserver<ReadFileReply> out) {
        serve(out, () -> fs.readFile(req.getIno(), req.getOffset(), req.getLength()));
    }

    @Override
    public void writeFile(WriteFileRequest req, StreamObserver<MutationReply> out) {
        serve(out, () -> fs.writeFile(req));
    }

    @Override
    public void sync(SyncRequest req, StreamObserver<SyncReply> out) {
        serve(out, () -> {
            if (req.getIncarnation() != 0 && req.getIncarnation() != store.incarnation()) {
                throw Status.FAILED_PRECONDITION.withDescription("the page server restarted (incarnation "
                        + req.getIncarnation() + " is gone, now " + store.incarnation()
                        + "): writes acknowledged before the restart but not synced may be lost").asRuntimeException();
            }
            store.sync();
            return SyncReply.newBuilder().setIncarnation(store.incarnation()).build();
        });
    }

    @Override
    public void serverInfo(ServerInfoRequest req, StreamObserver<ServerInfoReply> out) {
        serve(out, () -> ServerInfoReply.newBuilder().setIncarnation(store.incarnation()).setBucket(store.bucket())
                .setLastSeq(store.lastSeq()).setPackedSeq(store.packedSeq()).setSegments(store.segmentCount()).build());
    }

    private interface Call<T> {
        T run() throws IOException;
    }

    /** Runs a call and maps failures to the status codes the contract promises. */
    private static <T> void serve(StreamObserver<T> out, Call<T> call) {
        T reply;
        try {
            reply = call.run();
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        } catch (IntegrityException e) {
            log.error("integrity failure: {}", e.getMessage());
            out.onError(Status.DATA_LOSS.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (ObjectStoreUnavailableException e) {
            out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (IOException e) {
            log.error("request failed: {}", e.getMessage());
            out.onError(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (RuntimeException e) {
            log.error("request failed", e);
            out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }
}
