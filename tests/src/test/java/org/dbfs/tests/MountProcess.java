package org.dbfs.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.dbfs.fuse.DbfsCli;

/**
 * {@code dbfs mount} in a child JVM, so that a test can SIGSTOP, SIGCONT or kill -9 the mount
 * process as it can PostgreSQL's.
 */
final class MountProcess implements AutoCloseable {
    private final Process process;
    private final Path mountPoint;
    private final Path log;

    private MountProcess(Process process, Path mountPoint, Path log) {
        this.process = process;
        this.mountPoint = mountPoint;
        this.log = log;
    }

    /** Mounts ({@code args} after {@code mount}, the mount point last) and waits until the kernel lists it. */
    static MountProcess start(List<String> args, Path mountPoint, Path logDir) throws IOException, InterruptedException {
        Path log = logDir.resolve("mount-" + mountPoint.getFileName() + "-" + System.nanoTime() + ".log");
        List<String> all = new java.util.ArrayList<>(List.of("mount"));
        all.addAll(args);
        all.add(mountPoint.toString());
        Process p = ChildJvm.command(DbfsCli.class, all, Map.of(), log).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!isMounted(mountPoint)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("dbfs mount " + args + " did not mount " + mountPoint + "; its log:\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
        return new MountProcess(p, mountPoint, log);
    }

    static boolean isMounted(Path mountPoint) throws IOException {
        String target = " " + mountPoint.toAbsolutePath().normalize() + " ";
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().anyMatch(l -> l.contains(target));
    }

    long pid() {
        return process.pid();
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    /** SIGKILL; the kernel's mount is then lazily detached so that the mount point can be used again. */
    void kill9() throws IOException, InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        new ProcessBuilder("fusermount3", "-uz", mountPoint.toString()).inheritIO().start().waitFor();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) {
            new ProcessBuilder("kill", "-CONT", Long.toString(process.pid())).start().waitFor();
            new ProcessBuilder("fusermount3", "-u", mountPoint.toString()).start().waitFor();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
        if (isMounted(mountPoint)) {
            new ProcessBuilder("fusermount3", "-uz", mountPoint.toString()).start().waitFor();
        }
    }
}
