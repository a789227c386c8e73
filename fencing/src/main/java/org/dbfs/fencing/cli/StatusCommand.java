package org.dbfs.fencing.cli;

import java.util.concurrent.Callable;
import org.dbfs.bucket.cli.BucketOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code fencectl status}: the lease as the bucket holds it. Exit 0, or 1 when there is none. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Prints the cluster's writer lease: epoch, state, holder, timeline and F (the last fence's LSN).")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    BucketOptions bucket;

    @Override
    public Integer call() {
        try (LeaseAccess access = new LeaseAccess(bucket)) {
            var current = access.leases.read();
            if (current.isEmpty()) {
                System.out.println("no cluster lease in " + access.leases.where()
                        + ": no read-write mount has started on this bucket");
                return 1;
            }
            System.out.print(current.get().lease().describe(access.leases.now()));
            return 0;
        }
    }
}
