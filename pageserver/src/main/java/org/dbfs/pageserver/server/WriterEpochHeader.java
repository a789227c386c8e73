package org.dbfs.pageserver.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.dbfs.protocol.pageserver.WriterAccess;

/**
 * Puts the epoch a gRPC client declared (header {@code dbfs-epoch}) into the call's context, where
 * the write handlers pick it up ({@link WriterAccess#CALLER_EPOCH}). A malformed header is refused
 * rather than read as "no epoch".
 */
final class WriterEpochHeader implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String value = headers.get(WriterAccess.EPOCH_HEADER);
        if (value == null) {
            return next.startCall(call, headers);
        }
        long epoch;
        try {
            epoch = Long.parseUnsignedLong(value);
        } catch (NumberFormatException e) {
            call.close(Status.INVALID_ARGUMENT.withDescription("malformed dbfs-epoch header: " + value), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return Contexts.interceptCall(Context.current().withValue(WriterAccess.CALLER_EPOCH, epoch), call, headers, next);
    }
}
