package org.dbfs.fuse;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Small helpers for the overlay's local files: fsync, ownership and modes, and errno from Java's exceptions. */
final class LocalFiles {
    /** strerror(3) texts Java puts in a FileSystemException's reason, for the errnos it has no class for. */
    private static final Map<String, Integer> ERRNO_BY_REASON = Map.ofEntries(
            Map.entry("Is a directory", 21), Map.entry("Not a directory", 20), Map.entry("No space left on device", 28),
            Map.entry("Directory not empty", 39), Map.entry("File name too long", 36), Map.entry("Invalid argument", 22),
            Map.entry("Operation not permitted", 1), Map.entry("Read-only file system", 30),
            Map.entry("Too many levels of symbolic links", 40), Map.entry("Invalid cross-device link", 18),
            Map.entry("File exists", 17), Map.entry("No such file or directory", 2), Map.entry("Permission denied", 13),
            Map.entry("Disk quota exceeded", 122), Map.entry("File too large", 27));

    private LocalFiles() {}

    static void fsync(Path p) throws IOException {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    static void setOwnerAndMode(Path p, int uid, int gid, int mode) throws IOException {
        Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        if (!Files.isSymbolicLink(p)) {
            Files.setAttribute(p, "unix:mode", mode & 07777);
        }
    }

    /** The Linux errno for a failed local file operation (EIO when it cannot be told). */
    static int errno(IOException e) {
        if (e instanceof NoSuchFileException) {
            return 2;
        }
        if (e instanceof FileAlreadyExistsException) {
            return 17;
        }
        if (e instanceof DirectoryNotEmptyException) {
            return 39;
        }
        if (e instanceof AccessDeniedException) {
            return 13;
        }
        if (e instanceof NotDirectoryException) {
            return 20;
        }
        if (e instanceof NotLinkException) {
            return 22;
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            Integer errno = ERRNO_BY_REASON.get(f.getReason());
            if (errno != null) {
                return errno;
            }
        }
        String m = e.getMessage();
        if (m != null) {
            for (Map.Entry<String, Integer> r : ERRNO_BY_REASON.entrySet()) {
                if (m.endsWith(r.getKey())) {
                    return r.getValue();
                }
            }
        }
        return 5;
    }
}
