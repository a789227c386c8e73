package org.dbfs.fuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads /proc/self/mountinfo: whether a directory is currently a mount point. */
final class MountTable {

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {
    }

    static boolean isMountPoint(Path dir) {
        String wanted = dir.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(MOUNTINFO)) {
                String[] fields = line.split(" ");
                if (fields.length > 4 && unescape(fields[4]).equals(wanted)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...). */
    static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()
                    && isOctal(field.charAt(i + 1)) && isOctal(field.charAt(i + 2)) && isOctal(field.charAt(i + 3))) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(char c) {
        return c >= '0' && c <= '7';
    }
}
