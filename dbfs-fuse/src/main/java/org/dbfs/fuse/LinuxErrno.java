package org.dbfs.fuse;

/**
 * The Linux errno values the mount returns itself. The page server sends Linux errno values too, so
 * the mount passes those through unchanged (negated, as FUSE wants them).
 */
final class LinuxErrno {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EIO = 5;
    static final int EBADF = 9;
    static final int EEXIST = 17;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int ENOSYS = 38;
    static final int ENOTEMPTY = 39;

    private LinuxErrno() {
    }

    /** An errno the page server answered, for a message: its name, and its usual cause where that helps. */
    static String describe(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT (no such file or directory)";
            case EIO -> "EIO";
            case EEXIST -> "EEXIST (it exists already)";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC (the page server's journal device is full)";
            case ENOTEMPTY -> "ENOTEMPTY";
            default -> "errno " + errno;
        };
    }
}
