package org.dbfs.bucket.cli;

/** A {@code HOST:PORT} option value (the last colon splits, so an IPv6 host keeps its colons). */
public record HostPort(String host, int port) {

    /** @throws IllegalArgumentException naming {@code option} when {@code text} is not HOST:PORT */
    public static HostPort parse(String option, String text) {
        int colon = text.lastIndexOf(':');
        try {
            if (colon > 0) {
                return new HostPort(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " wants HOST:PORT, got " + text);
    }

    /** {@link #parse(String, String)} for a command's option: a usage error of {@code cmd} if malformed. */
    public static HostPort option(picocli.CommandLine cmd, String option, String text) {
        try {
            return parse(option, text);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(cmd, e.getMessage());
        }
    }
}
