package org.dbfs.pageserver.server;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.LongAdder;
import org.dbfs.protocol.pageserver.ReadOnlyAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces read-only connections on both transports: a write call on a connection that declared
 * itself read-only is refused before it reaches the page store, and counted. A replica's mount
 * declares it when it connects, so "a replica never writes" is checked here, not trusted.
 */
final class ReadOnlyConnections implements ServerInterceptor {
    private static final Logger log = LoggerFactory.getLogger(ReadOnlyConnections.class);

    private final LongAdder calls = new LongAdder();
    private final LongAdder refused = new LongAdder();

    long calls() {
        return calls.sum();
    }

    long refused() {
        return refused.sum();
    }

    /**
     * Counts a call on a read-only connection; returns the refusal for a write call, else null.
     */
    Status check(String method) {
        calls.increment();
        if (!ReadOnlyAccess.isWrite(method)) {
            return null;
        }
        refused.increment();
        log.warn("refused {} on a read-only connection (a read-only mount must never write)", method);
        return Status.PERMISSION_DENIED.withDescription(method + " refused: this connection is read-only");
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (ReadOnlyAccess.READ_ONLY.equals(headers.get(ReadOnlyAccess.HEADER))) {
            Status refusal = check(call.getMethodDescriptor().getBareMethodName());
            if (refusal != null) {
                call.close(refusal, new Metadata());
                return new ServerCall.Listener<>() {};
            }
        }
        return next.startCall(call, headers);
    }
}
