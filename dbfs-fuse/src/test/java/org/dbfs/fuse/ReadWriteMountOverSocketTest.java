package org.dbfs.fuse;

/**
 * The same POSIX behaviour with the mount on the page server's Unix-domain socket ({@code dbfs mount
 * --pageserver unix:PATH}, what scripts/quickstart uses), including a page server that restarts
 * under the mount: a call on a broken connection fails with EIO and the next one connects again.
 */
class ReadWriteMountOverSocketTest extends ReadWriteMountTest {
    @Override
    boolean overSocket() {
        return true;
    }
}
