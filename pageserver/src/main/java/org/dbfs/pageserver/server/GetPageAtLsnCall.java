package org.dbfs.pageserver.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.dbfs.pageserver.getpage.Materialized;
import org.dbfs.pageserver.getpage.PageMaterializer;
import org.dbfs.pageserver.getpage.PageNotMaterializableException;
import org.dbfs.pageserver.getpage.WalNotIndexedException;
import org.dbfs.pageserver.store.BeforeHorizonException;
import org.dbfs.pgformat.ForkNumber;
import org.dbfs.pgformat.RelTag;
import org.dbfs.pgformat.redo.RedoException;
import org.dbfs.pgformat.redo.UnsupportedRecordException;
import org.dbfs.pgformat.wal.Lsn;
import org.dbfs.protocol.pageserver.RelTagMessages;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnReply;
import org.dbfs.protocol.pageserver.v1.GetPageAtLsnRequest;

/** GetPageAtLsn: request checks, and the materializer's failures as the status codes pageserver.proto promises. */
final class GetPageAtLsnCall {
    static final long DEFAULT_WAIT_MS = 10_000;

    private GetPageAtLsnCall() {}

    static GetPageAtLsnReply serve(PageMaterializer materializer, GetPageAtLsnRequest req) {
        var ref = req.getPage();
        var r = ref.getRel();
        RelTag rel = RelTagMessages.of(r);
        long block = Integer.toUnsignedLong(ref.getBlockNum());
        if (materializer == null) {
            throw Status.FAILED_PRECONDITION.withDescription(what(rel, block, req) + "this page server was started without --walservice")
                    .asRuntimeException();
        }
        if (r.getForkNum() > ForkNumber.INIT_FORKNUM.forkNum() || req.getLsn() == 0) {
            throw Status.INVALID_ARGUMENT.withDescription(what(rel, block, req) + "fork must be 0..3 and lsn non-zero").asRuntimeException();
        }
        long waitMs = req.getMaxWaitMs() == 0 ? DEFAULT_WAIT_MS : req.getMaxWaitMs();
        Materialized m;
        try {
            m = materializer.materialize(rel, block, req.getLsn(), waitMs);
        } catch (WalNotIndexedException | BeforeHorizonException e) {
            throw failure(Status.OUT_OF_RANGE, what(rel, block, req), e);
        } catch (PageNotMaterializableException e) {
            throw failure(Status.FAILED_PRECONDITION, what(rel, block, req), e);
        } catch (UnsupportedRecordException e) {
            throw failure(Status.UNIMPLEMENTED, what(rel, block, req), e);
        } catch (RedoException e) {
            throw failure(Status.DATA_LOSS, what(rel, block, req), e);
        } catch (StatusRuntimeException e) {
            throw failure(e.getStatus(), what(rel, block, req), e);
        }
        GetPageAtLsnReply.Builder reply = GetPageAtLsnReply.newBuilder();
        if (m.page() == null) {
            return reply.setAbsent(true).build();
        }
        return reply.setData(ByteString.copyFrom(m.page())).setPageLsn(m.pageLsn()).setBase(m.base())
                .setBaseLsn(m.baseLsn()).setRecordsRedone(m.redone()).setRecordsSkipped(m.skipped()).build();
    }

    /** The call, for its error messages (built only when one is). */
    private static String what(RelTag rel, long block, GetPageAtLsnRequest req) {
        return "GetPage@LSN " + rel.spcNode() + "/" + Integer.toUnsignedString(rel.dbNode()) + "/"
                + Integer.toUnsignedString(rel.relNode()) + " " + forkName(rel.forkNum()) + " block " + block
                + " at " + Lsn.format(req.getLsn()) + ": ";
    }

    private static StatusRuntimeException failure(Status status, String what, RuntimeException e) {
        String message = e instanceof StatusRuntimeException s ? s.getStatus().getDescription() : e.getMessage();
        return status.withDescription(what + message).withCause(e).asRuntimeException();
    }

    private static String forkName(int forkNum) {
        return forkNum <= ForkNumber.INIT_FORKNUM.forkNum() ? ForkNumber.of(forkNum).forkName() : Integer.toString(forkNum);
    }
}
