package org.dbfs.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A DbFS command line (its main class) in a child JVM on the test's class path, as an operator would run it. */
final class ChildJvm {
    private ChildJvm() {}

    /** What a finished command printed. */
    record Result(int exitCode, String stdout, String stderr) {}

    static ProcessBuilder command(Class<?> main, List<String> args, Map<String, String> env, Path stderr) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "--enable-native-access=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", main.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("DBFS_PASSPHRASE");
        pb.environment().putAll(env);
        Files.createDirectories(stderr.getParent());
        pb.redirectError(stderr.toFile());
        return pb;
    }

    /** Runs to completion (at most two minutes). */
    static Result run(Class<?> main, List<String> args, Map<String, String> env, Path logDir) throws IOException, InterruptedException {
        Path err = logDir.resolve(main.getSimpleName() + "-" + System.nanoTime() + ".log");
        Process p = command(main, args, env, err).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(main.getSimpleName() + " " + args + " did not finish; stderr:\n" + Files.readString(err));
        }
        return new Result(p.exitValue(), out.join(), Files.readString(err));
    }

    /** {@code kill -SIGNAL pids}: SIGSTOP/SIGCONT pause and resume, KILL is a crash. */
    static void signal(String signal, List<Long> pids) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + signal));
        pids.forEach(p -> cmd.add(Long.toString(p)));
        new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }
}
