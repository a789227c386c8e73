package org.dbfs.protocol.framed;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * A service's unary gRPC methods, callable in the framing: each parses its request, runs the gRPC
 * method on the calling thread and waits for its single reply. The gRPC implementation must run
 * inline (a direct executor for blocking work), so that the connection's thread does the work.
 */
public final class FramedMethods {
    /** One method: the request's bytes in, the reply out (failures as {@link FramedServer.Session#call} says). */
    public interface Method {
        MessageLite call(byte[] request) throws Exception;
    }

    private final Map<String, Method> methods;

    @SafeVarargs
    public FramedMethods(Map.Entry<String, Method>... methods) {
        this.methods = Map.ofEntries(methods);
    }

    /** Runs {@code name}, or answers UNIMPLEMENTED. */
    public MessageLite call(String name, byte[] request) throws Exception {
        Method m = methods.get(name);
        if (m == null) {
            throw Status.UNIMPLEMENTED.withDescription("no method " + name).asRuntimeException();
        }
        return m.call(request);
    }

    /** {@code impl} (a gRPC unary method) as a framed method. */
    public static <Q, R extends MessageLite> Map.Entry<String, Method> unary(String method, Parser<Q> parser,
                                                                            BiConsumer<Q, StreamObserver<R>> impl) {
        return Map.entry(method, bytes -> {
            Q request = parser.parseFrom(bytes);
            CompletableFuture<R> reply = new CompletableFuture<>();
            impl.accept(request, new StreamObserver<>() {
                @Override
                public void onNext(R value) {
                    reply.complete(value);
                }

                @Override
                public void onError(Throwable t) {
                    reply.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                    if (!reply.isDone()) { // the normal end follows onNext: no exception built for it
                        reply.completeExceptionally(Status.INTERNAL.withDescription(method + " completed without a reply").asRuntimeException());
                    }
                }
            });
            return reply.get();
        });
    }
}
