package org.dbfs.fuse;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command-line tool for a test, so that file operations come from another process (and user). */
final class ProcessRunner {

    private final List<String> command;

    ProcessRunner(String... command) {
        this.command = List.of(command);
    }

    int exitCode() throws IOException {
        Process p = new ProcessBuilder(command).inheritIO().start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + command);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + command, e);
        }
        return p.exitValue();
    }

    void run() throws IOException {
        int exit = exitCode();
        if (exit != 0) {
            throw new IOException("exit code " + exit + ": " + command);
        }
    }
}
