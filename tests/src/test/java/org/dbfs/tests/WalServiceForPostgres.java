package org.dbfs.tests;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code walservice} as a command the postgres user can run (a restore_command): a launcher script
 * over a copy of this JVM's class path. The class path itself lives where only root may read
 * (~/.m2), and a built bin/walservice may be older than the classes under test.
 */
final class WalServiceForPostgres {

    private WalServiceForPostgres() {
    }

    /**
     * A restore_command the postgres user can run: {@code walservice restore} from {@code walBucket}
     * (made readable to it), with the launcher and a passphrase file under {@code dir}.
     */
    static String restoreCommand(Path dir, Path walBucket) throws Exception {
        Path launcher = install(dir);
        RestoreCommandTest.readableByPostgres(walBucket);
        return launcher + " restore --bucket " + walBucket.toUri() + " --passphrase-file "
                + RestoreCommandTest.passphraseFileForPostgres(launcher.resolveSibling("passphrase")) + " %f %p";
    }

    /** Copies the class path into {@code dir} and returns the launcher there ({@code walservice ARGS}). */
    static Path install(Path dir) throws IOException {
        Path lib = Files.createDirectories(dir.resolve("classpath"));
        List<String> copies = new ArrayList<>();
        String[] entries = System.getProperty("java.class.path").split(File.pathSeparator);
        for (int i = 0; i < entries.length; i++) {
            Path entry = Path.of(entries[i]);
            if (Files.exists(entry)) {
                Path copy = lib.resolve(i + "-" + entry.getFileName()); // the index keeps equal names apart and the order
                copyReadable(entry, copy);
                copies.add(copy.toString());
            }
        }
        String command = WalServiceProcess.javaCommand(String.join(File.pathSeparator, copies)).stream()
                .map(WalServiceForPostgres::shellQuote).collect(Collectors.joining(" "));
        Path launcher = dir.resolve("walservice");
        Files.writeString(launcher, "#!/bin/sh\nexec " + command + " \"$@\"\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        PostgresCluster.makeTraversableForPostgres(dir);
        return launcher;
    }

    /** A copy of a jar or a class directory that every user may read, whatever the umask. */
    private static void copyReadable(Path from, Path to) throws IOException {
        try (Stream<Path> tree = Files.walk(from)) {
            for (Path p : (Iterable<Path>) tree::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                Files.copy(p, target);
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString(Files.isDirectory(target) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
