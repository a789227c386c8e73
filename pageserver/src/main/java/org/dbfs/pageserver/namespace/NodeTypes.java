package org.dbfs.pageserver.namespace;

import org.dbfs.protocol.pageserver.v1.NodeType;

/** Node type numbers as stored in InodeRecord.type: the API's NodeType numbers. */
public final class NodeTypes {
    public static final int REGULAR = NodeType.REGULAR_VALUE;
    public static final int DIRECTORY = NodeType.DIRECTORY_VALUE;
    public static final int SYMLINK = NodeType.SYMLINK_VALUE;

    private NodeTypes() {}
}
