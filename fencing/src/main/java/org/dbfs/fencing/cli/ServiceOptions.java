package org.dbfs.fencing.cli;

import picocli.CommandLine.Option;

/** The services a fence acts on (picocli mixin): the page server, and the WAL service (else the page server's). */
final class ServiceOptions {
    @Option(names = "--pageserver", required = true, paramLabel = "HOST:PORT", description = "the page server the mounts use")
    String pageServer;

    @Option(names = "--walservice", paramLabel = "HOST:PORT",
            description = "the WAL service the primary replicates to (default: the one the page server names)")
    String walService;

    ServiceChannels open() {
        return new ServiceChannels(pageServer, walService);
    }
}
