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
        CompletableFuture<Integer> port = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    Matcher m = pattern.matcher(line);
                    if (m.find()) {
                        Thread.ofPlatform().daemon().start(() -> drain(out));
                        return Integer.parseInt(m.group(portGroup));
                    }
                }
                return -1;
            } catch (IOException e) {
                return -1;
            }
        });
        try {
            return port.get(seconds, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
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
