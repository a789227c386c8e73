package org.dbfs.fuse;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dbfs umount MOUNTPOINT}: first a directory fsync on the mount, which makes every write the
 * mount acknowledged durable on the page server, then fusermount3 -u. The mount process does a last
 * sync of its own when it sees the unmount, and exits.
 */
@Command(name = "umount", mixinStandardHelpOptions = true, description = "Flush and unmount a DbFS file system.")
final class UmountCommand implements Callable<Integer> {

    @Option(names = {"-z", "--lazy"}, description = "Lazy unmount (detach now, finish when no longer busy).")
    boolean lazy;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws IOException, InterruptedException {
        Path dir = mountPoint.toAbsolutePath().normalize();
        if (!MountTable.isMountPoint(dir)) {
            System.err.println("dbfs umount: " + dir + " is not mounted");
            return 1;
        }
        boolean flushed = true;
        try (FileChannel root = FileChannel.open(dir, StandardOpenOption.READ)) {
            root.force(true);
        } catch (IOException e) {
            flushed = false;
            System.err.println("dbfs umount: flushing " + dir + " failed (" + e.getMessage()
                    + "); unmounting anyway, recent writes may not be durable");
        }
        List<String> command = new ArrayList<>(List.of("fusermount3", "-u"));
        if (lazy) {
            command.add("-z");
        }
        command.add(dir.toString());
        int exit = new ProcessBuilder(command).inheritIO().start().waitFor();
        if (exit != 0) {
            System.err.println("dbfs umount: fusermount3 failed with exit code " + exit + " (busy? try --lazy)");
            return exit;
        }
        return flushed ? 0 : 1;
    }
}
