package org.dbfs.bucket.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * How far a long operation has come, in bytes (or anything counted like them, such as a range of
 * WAL): done of total, percent, average rate and time left. Two forms:
 * <ul>
 *   <li>a bar redrawn in place with {@code \r}, at most four times a second, for a person at a terminal;
 *   <li>plain lines, one per tenth of the total or every 5 s, for a log file or a pipe, e.g.
 *       {@code import: 512.0 MiB of 1.02 GiB (50%), 64.1 MiB/s, ETA 8 s}.
 * </ul>
 * Nothing is printed in the first second, so that short runs of an operation that is sometimes long
 * (a small waldump range, a small pack) stay quiet. {@link #finish()} ends what was started (the
 * bar's newline, a last line with the time taken) and prints nothing if nothing was printed.
 *
 * <p>A total of 0 or less means "unknown": no percent and no time left, a line every 5 s.
 *
 * <p>Thread-safe: several workers may advance one progress.
 */
public final class Progress {
    static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(1);
    static final long REDRAW_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    static final long LINE_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int BAR_WIDTH = 20;

    private final String label;
    private final long total;
    private final PrintStream terminal; // the bar's; null for lines
    private final Consumer<String> lines;
    private final LongSupplier nanoTime;
    private final long started;
    private long done;
    private long lastOutput;
    private int lastTenth;
    private boolean printed;
    private boolean finished;
    private int drawnLength;

    private Progress(String label, long total, PrintStream terminal, Consumer<String> lines, LongSupplier nanoTime) {
        this.label = label;
        this.total = total;
        this.terminal = terminal;
        this.lines = lines;
        this.nanoTime = nanoTime;
        this.started = nanoTime.getAsLong();
        this.lastOutput = started;
    }

    /** On stderr: a bar if stderr is a terminal, else plain lines. */
    public static Progress toStderr(String label, long total) {
        return isTerminal(2) ? bar(label, total, System.err, System::nanoTime)
                : lines(label, total, System.err::println, System::nanoTime);
    }

    /** Plain lines handed to {@code log} (a logger's info, say), without a line end. */
    public static Progress toLog(String label, long total, Consumer<String> log) {
        return lines(label, total, log, System::nanoTime);
    }

    public static Progress bar(String label, long total, PrintStream terminal, LongSupplier nanoTime) {
        return new Progress(label, total, terminal, null, nanoTime);
    }

    public static Progress lines(String label, long total, Consumer<String> lines, LongSupplier nanoTime) {
        return new Progress(label, total, null, lines, nanoTime);
    }

    public synchronized void advance(long delta) {
        update(done + delta);
    }

    /** Sets how much is done (for operations that know their position rather than their steps). */
    public synchronized void update(long nowDone) {
        done = nowDone;
        long now = nanoTime.getAsLong();
        if (finished || now - started < QUIET_NANOS) {
            return;
        }
        if (terminal != null) {
            if (printed && now - lastOutput < REDRAW_NANOS) {
                return;
            }
            draw(text(now, false));
        } else {
            int tenth = tenth();
            if (now - lastOutput < LINE_NANOS && tenth <= lastTenth) {
                return;
            }
            lines.accept(text(now, false));
            lastTenth = tenth;
        }
        lastOutput = now;
        printed = true;
    }

    public synchronized long done() {
        return done;
    }

    /** Ends the output: the bar's final state and a newline, or a last line; nothing if nothing was shown. */
    public synchronized void finish() {
        if (finished) {
            return;
        }
        finished = true;
        if (!printed) {
            return;
        }
        String last = text(nanoTime.getAsLong(), true);
        if (terminal != null) {
            draw(last);
            terminal.println();
            terminal.flush();
        } else {
            lines.accept(last);
        }
    }

    private void draw(String text) {
        StringBuilder b = new StringBuilder(text.length() + 8).append('\r').append(text);
        for (int i = text.length(); i < drawnLength; i++) {
            b.append(' '); // clears the end of a longer earlier line
        }
        drawnLength = text.length();
        terminal.print(b);
        terminal.flush();
    }

    private String text(long now, boolean last) {
        double seconds = (now - started) / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        StringBuilder b = new StringBuilder(label).append(": ");
        if (terminal != null && total > 0) {
            int filled = (int) Math.min(BAR_WIDTH, (double) done * BAR_WIDTH / total);
            b.append('[').append("#".repeat(filled)).append(".".repeat(BAR_WIDTH - filled)).append("] ");
        }
        b.append(ByteSize.format(done));
        if (total > 0) {
            b.append(" of ").append(ByteSize.format(total)).append(" (").append(percent()).append("%)");
        }
        b.append(", ").append(ByteSize.format((long) rate)).append("/s");
        if (last) {
            b.append(", took ").append(ByteSize.seconds(Math.round(seconds)));
        } else if (total > 0) {
            b.append(", ETA ").append(rate > 0 ? ByteSize.seconds((long) Math.ceil(Math.max(0, total - done) / rate)) : "unknown");
        }
        return b.toString();
    }

    private int percent() {
        return (int) Math.max(0, Math.min(100, (double) done * 100 / total));
    }

    private int tenth() {
        return total > 0 ? percent() / 10 : 0;
    }

    /**
     * Whether this process's file descriptor {@code fd} is a terminal (1 stdout, 2 stderr). Java has
     * no isatty(3), and {@link System#console()} speaks of stdin and stdout together, while progress
     * goes to stderr and stdout may be a pipe carrying the output proper.
     */
    public static boolean isTerminal(int fd) {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().toLowerCase(Locale.ROOT);
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false; // no /proc (not Linux): plain lines are right anywhere
        }
    }
}
