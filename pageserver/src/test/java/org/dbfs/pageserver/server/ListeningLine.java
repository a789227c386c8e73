package org.dbfs.pageserver.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Waits for a service started as a child process to print the line that says where it listens,
 * and keeps draining its stdout afterwards so that the child never blocks writing to it.
 */
public final class ListeningLine {

    private ListeningLine() {
    }

    /**
     * @param portGroup the group of {@code pattern} that holds the port
     * @return the port, or -1 if the child ended or said nothing matching within {@code seconds}
     */
    public static int awaitPort(Process child, Pattern pattern, int portGroup, int seconds) {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        // Its own thread, not the common pool: with 2 CPUs that pool has one worker, which anything
        // else blocking in it would take from us.
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("listening-line").start(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    Matcher m = pattern.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(portGroup)));
                        drain(out);
                        return;
                    }
                }
                port.complete(-1);
            } catch (IOException e) {
                port.complete(-1);
            }
        });
        try {
            return port.get(seconds, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
        }
    }

    /** What the child's threads are doing now ({@code jcmd Thread.print}), for a start that hangs. */
    public static String threadDump(Process child) {
        String jcmd = ProcessHandle.current().info().command().map(java -> java.replaceFirst("java$", "jcmd")).orElse("jcmd");
        try {
            Process p = new ProcessBuilder(jcmd, Long.toString(child.pid()), "Thread.print").redirectErrorStream(true).start();
            String dump = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return dump;
        } catch (IOException e) {
            return "(no thread dump: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(no thread dump: interrupted)";
        }
    }

    private static void drain(BufferedReader out) {
        try {
            while (out.readLine() != null) {
                // discard
            }
        } catch (IOException e) {
            // the child is gone
        }
    }
}
