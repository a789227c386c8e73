package org.dbfs.protocol.pageserver;

import io.grpc.Metadata;
import java.util.Set;

/**
 * How a client declares a connection read-only, and which calls that forbids (pageserver.proto,
 * "Read-only connections"). Client and server take the names from here so that they cannot drift.
 */
public final class ReadOnlyAccess {
    /** gRPC: sent with every call of a read-only channel. */
    public static final Metadata.Key<String> HEADER = Metadata.Key.of("dbfs-access", Metadata.ASCII_STRING_MARSHALLER);
    public static final String READ_ONLY = "read-only";

    /** Unix socket: the first call on a read-only connection (empty request and reply). */
    public static final String DECLARE_METHOD = "DeclareReadOnly";

    /** The calls that change the file system or its pages. Sync and reads stay allowed. */
    public static final Set<String> WRITE_METHODS = Set.of("PutPages", "MakeNode", "Remove", "Rename", "Link", "SetAttr", "WriteFile",
            "Branch");

    private ReadOnlyAccess() {}

    public static boolean isWrite(String method) {
        return WRITE_METHODS.contains(method);
    }
}
