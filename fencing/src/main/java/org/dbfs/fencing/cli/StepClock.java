package org.dbfs.fencing.cli;

import java.io.PrintStream;

/** Prints each step of a multi-step command with the milliseconds since the command began. */
final class StepClock {
    private final long start = System.nanoTime();
    private final PrintStream out;

    StepClock(PrintStream out) {
        this.out = out;
    }

    long elapsedMillis() {
        return (System.nanoTime() - start) / 1_000_000;
    }

    void step(String text) {
        out.printf("fencectl: [%6d ms] %s%n", elapsedMillis(), text);
        out.flush();
    }
}
