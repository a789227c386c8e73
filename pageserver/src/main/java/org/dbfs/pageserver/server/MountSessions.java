package org.dbfs.pageserver.server;

import static org.dbfs.protocol.framed.FramedMethods.unary;

import com.google.protobuf.Empty;
import com.google.protobuf.MessageLite;
import io.grpc.Context;
import io.grpc.Status;
import org.dbfs.protocol.framed.FramedMethods;
import org.dbfs.protocol.framed.FramedServer;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.dbfs.protocol.pageserver.WriterAccess;
import org.dbfs.protocol.pageserver.v1.AcquireWriterRequest;
import org.dbfs.protocol.pageserver.v1.BranchRequest;
import org.dbfs.pageserver.status.PageServerMetrics;
import org.dbfs.protocol.pageserver.v1.ClusterStatusRequest;
import org.dbfs.protocol.pageserver.v1.CreateBranchRequest;
import org.dbfs.protocol.pageserver.v1.DeclareWriterRequest;
import org.dbfs.protocol.pageserver.v1.DeleteBranchRequest;
import org.dbfs.protocol.pageserver.v1.FenceRequest;
import org.dbfs.protocol.pageserver.v1.GetAttrRequest;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;
import org.dbfs.protocol.pageserver.v1.GetPagesRequest;
import org.dbfs.protocol.pageserver.v1.GetWalEndRequest;
import org.dbfs.protocol.pageserver.v1.HoldReaderRequest;
import org.dbfs.protocol.pageserver.v1.LinkRequest;
import org.dbfs.protocol.pageserver.v1.ListBranchesRequest;
import org.dbfs.protocol.pageserver.v1.ListSnapshotsRequest;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.PutPagesRequest;
import org.dbfs.protocol.pageserver.v1.ReadDirRequest;
import org.dbfs.protocol.pageserver.v1.ReadFileRequest;
import org.dbfs.protocol.pageserver.v1.ReadLinkRequest;
import org.dbfs.protocol.pageserver.v1.ReadSnapshotRequest;
import org.dbfs.protocol.pageserver.v1.RemoveRequest;
import org.dbfs.protocol.pageserver.v1.RenameRequest;
import org.dbfs.protocol.pageserver.v1.RenewWriterRequest;
import org.dbfs.protocol.pageserver.v1.ResolvePointRequest;
import org.dbfs.protocol.pageserver.v1.ServerInfoRequest;
import org.dbfs.protocol.pageserver.v1.SetAttrRequest;
import org.dbfs.protocol.pageserver.v1.StatFsRequest;
import org.dbfs.protocol.pageserver.v1.SyncRequest;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/**
 * A framed connection to the page server ({@link FramedServer}): the page server's gRPC methods, run
 * on the connection's thread, plus what a connection declares once for its whole life: that it is
 * read-only (a replica's mount: every write is refused, as {@link ReadOnlyConnections} refuses it on
 * gRPC), and the writer epoch its calls carry (gRPC carries it in a header, {@link WriterEpochHeader}).
 */
final class MountSessions {
    private final FramedMethods methods;
    private final ReadOnlyConnections readOnly;
    private final PageServerMetrics metrics;

    /** @param service the page server's methods, run inline (a direct executor for blocking work) */
    MountSessions(PageServerService service, ReadOnlyConnections readOnly, PageServerMetrics metrics) {
        this.methods = methods(service);
        this.readOnly = readOnly;
        this.metrics = metrics;
    }

    FramedServer.Session newSession() {
        return new FramedServer.Session() {
            private boolean connectionReadOnly;
            private Context caller = Context.current(); // carries the writer epoch the connection declared

            @Override
            public MessageLite call(String method, byte[] payload) throws Exception {
                if (method.equals(ReadOnlyAccess.DECLARE_METHOD)) {
                    connectionReadOnly = true;
                    return Empty.getDefaultInstance();
                }
                if (method.equals(WriterAccess.DECLARE_METHOD)) {
                    long epoch = DeclareWriterRequest.parseFrom(payload).getEpoch();
                    caller = Context.current().withValue(WriterAccess.CALLER_EPOCH, epoch);
                    return Empty.getDefaultInstance();
                }
                if (connectionReadOnly) {
                    Status refusal = readOnly.check(method);
                    if (refusal != null) {
                        throw refusal.asRuntimeException();
                    }
                }
                return metrics.requests().time(method, () -> caller.call(() -> methods.call(method, payload)));
            }
        };
    }

    private static FramedMethods methods(PageServerService s) {
        return new FramedMethods(
                unary("GetPages", GetPagesRequest.parser(), s::getPages),
                unary("GetPageAtLsn", GetPageAtLsnRequest.parser(), s::getPageAtLsn),
                unary("PutPages", PutPagesRequest.parser(), s::putPages),
                unary("GetAttr", GetAttrRequest.parser(), s::getAttr),
                unary("ReadDir", ReadDirRequest.parser(), s::readDir),
                unary("MakeNode", MakeNodeRequest.parser(), s::makeNode),
                unary("Remove", RemoveRequest.parser(), s::remove),
                unary("Rename", RenameRequest.parser(), s::rename),
                unary("Link", LinkRequest.parser(), s::link),
                unary("SetAttr", SetAttrRequest.parser(), s::setAttr),
                unary("ReadLink", ReadLinkRequest.parser(), s::readLink),
                unary("StatFs", StatFsRequest.parser(), s::statFs),
                unary("ReadFile", ReadFileRequest.parser(), s::readFile),
                unary("WriteFile", WriteFileRequest.parser(), s::writeFile),
                unary("Sync", SyncRequest.parser(), s::sync),
                unary("ServerInfo", ServerInfoRequest.parser(), s::serverInfo),
                unary("GetWalEnd", GetWalEndRequest.parser(), s::getWalEnd),
                unary("HoldReader", HoldReaderRequest.parser(), s::holdReader),
                unary("AcquireWriter", AcquireWriterRequest.parser(), s::acquireWriter),
                unary("RenewWriter", RenewWriterRequest.parser(), s::renewWriter),
                unary("Fence", FenceRequest.parser(), s::fence),
                unary("Branch", BranchRequest.parser(), s::branch),
                unary("ListSnapshots", ListSnapshotsRequest.parser(), s::listSnapshots),
                unary("ReadSnapshot", ReadSnapshotRequest.parser(), s::readSnapshot),
                unary("ResolvePoint", ResolvePointRequest.parser(), s::resolvePoint),
                unary("CreateBranch", CreateBranchRequest.parser(), s::createBranch),
                unary("ListBranches", ListBranchesRequest.parser(), s::listBranches),
                unary("DeleteBranch", DeleteBranchRequest.parser(), s::deleteBranch),
                unary("GetClusterStatus", ClusterStatusRequest.parser(), s::getClusterStatus));
    }
}
