package org.dbfs.protocol.pageserver;

import io.grpc.Context;
import io.grpc.Metadata;

/**
 * How a read-write client declares its writer epoch (pageserver.proto, "Writer epochs"). Client and
 * server take the names from here so that they cannot drift.
 */
public final class WriterAccess {
    /** gRPC: sent with every call of a read-write channel once it holds an epoch. */
    public static final Metadata.Key<String> EPOCH_HEADER = Metadata.Key.of("dbfs-epoch", Metadata.ASCII_STRING_MARSHALLER);

    /** Unix socket: the first call on a writer's connection (DeclareWriterRequest, empty reply). */
    public static final String DECLARE_METHOD = "DeclareWriter";

    /** Server side: the calling connection's declared epoch; 0 when it declared none. */
    public static final Context.Key<Long> CALLER_EPOCH = Context.keyWithDefault("dbfs-epoch", 0L);

    private WriterAccess() {}
}
