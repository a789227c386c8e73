package org.dbfs.fuse;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dbfs mount --rw --pageserver HOST:PORT MOUNTPOINT}: runs in the foreground until unmounted. */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = "Mount a DbFS file system (foreground; stop with 'dbfs umount MOUNTPOINT' or SIGTERM).")
final class MountCommand implements Callable<Integer> {

    @Option(names = "--rw", required = true, description = "Mount read-write (the only mode so far).")
    boolean readWrite;

    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT|unix:PATH",
            description = "The page server: its gRPC address, or unix:PATH for its --listen-socket on this machine (fewer thread hand-offs per call).")
    String pageServer;

    @Option(names = {"-o", "--fuse-option"}, paramLabel = "OPTION", description = "Extra libfuse mount option (repeatable).")
    List<String> fuseOptions = new ArrayList<>();

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountPoint;

    @Override
    public Integer call() throws Exception {
        DbfsMount mount = DbfsMount.mountReadWrite(pageServer, mountPoint, fuseOptions);
        Thread hook = new Thread(mount::unmount, "dbfs-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.err.println("dbfs: mounted " + mount.mountPoint() + " read-write on page server " + pageServer);
        mount.awaitUnmounted();
        int finalSync = mount.unmount();
        return finalSync == 0 ? 0 : 1;
    }
}
