package org.dbfs.pageserver.store;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.util.Arrays;
import org.dbfs.protocol.pageserver.v1.MakeNodeRequest;
import org.dbfs.protocol.pageserver.v1.NodeType;
import org.dbfs.protocol.pageserver.v1.WriteFileRequest;

/** A primary's WAL written into the store's pg_wal as a mount passes it on: what {@link WalWriteMarks} learn from. */
public final class PrimaryWal {
    private PrimaryWal() {}

    /** Writes the first segment of {@code timeline} up to {@code endLsn} (below 16 MB); returns the write's journal seq. */
    public static long writeUpTo(PageStore store, int timeline, long endLsn) throws IOException {
        FileSystemOps fs = new FileSystemOps(store);
        fs.makeNode(MakeNodeRequest.newBuilder().setPath("/pg_wal").setType(NodeType.DIRECTORY).setMode(0700).build()); // EEXIST after the first
        long ino = fs.makeNode(MakeNodeRequest.newBuilder().setPath(String.format("/pg_wal/%08X0000000000000000", timeline))
                .setType(NodeType.REGULAR).setMode(0600).build()).reply().getAttr().getIno();
        byte[] wal = new byte[(int) endLsn];
        Arrays.fill(wal, (byte) 0x5A);
        fs.writeFile(WriteFileRequest.newBuilder().setIno(ino).setOffset(0).setData(ByteString.copyFrom(wal)).build());
        return store.lastSeq();
    }
}
