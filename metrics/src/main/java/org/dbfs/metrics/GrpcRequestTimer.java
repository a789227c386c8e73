package org.dbfs.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Unary gRPC calls (tools such as fencectl, and mounts that chose grpc:) into the same request
 * metrics as the framed calls: one call is one request, whichever way it came. Streams (ReadWal)
 * are left out: their duration is the stream's life, not a request's latency.
 */
public final class GrpcRequestTimer implements ServerInterceptor {
    private final RequestMetrics requests;

    public GrpcRequestTimer(RequestMetrics requests) {
        this.requests = requests;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (call.getMethodDescriptor().getType() != MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        return next.startCall(new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                requests.record(method, System.nanoTime() - start, !status.isOk());
                super.close(status, trailers);
            }
        }, headers);
    }
}
