package org.dbfs.pageserver.store;

import com.google.protobuf.InvalidProtocolBufferException;
import org.dbfs.bucket.crypto.FrameCodec;
import org.dbfs.bucket.crypto.IntegrityException;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.pageserver.format.NamespaceSnapshot;

/** Namespace snapshot objects: one sealed frame each, at position 0 of the object. */
final class NamespaceObjects {
    private NamespaceObjects() {}

    static byte[] seal(FrameCodec codec, String name, NamespaceSnapshot snapshot) {
        return codec.seal(snapshot.toByteArray(), FrameCodec.associatedData(name, 0));
    }

    /** @throws IntegrityException naming the object if it fails authentication or does not parse */
    static NamespaceSnapshot read(ObjectStore store, FrameCodec codec, String name) {
        String object = "namespace snapshot " + name + " in " + store.describe();
        byte[] plain = codec.open(store.get(name), FrameCodec.associatedData(name, 0), object);
        try {
            return NamespaceSnapshot.parseFrom(plain);
        } catch (InvalidProtocolBufferException e) {
            throw new IntegrityException(object + " is corrupt: it authenticates but does not parse", e);
        }
    }
}
