package org.dbfs.bucket.cli;

import java.nio.file.Path;
import org.dbfs.bucket.crypto.Passphrases;
import org.dbfs.bucket.objectstore.ObjectStore;
import org.dbfs.bucket.objectstore.ObjectStores;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The bucket options every DbFS command that opens a bucket shares (picocli mixin): {@code --bucket},
 * {@code --s3-endpoint}, {@code --passphrase-file} (else {@code $DBFS_PASSPHRASE}).
 *
 * <p>{@code --bucket} is checked by {@link #requireBucket()} rather than declared required, so a
 * root command that also has subcommands (walservice) does not demand it of them.
 */
public final class BucketOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--bucket", paramLabel = "URL", description = "file:///dir, a plain directory path, or s3://bucket/prefix")
    String bucket;

    @Option(names = "--s3-endpoint", description = "endpoint URL of an S3-compatible server (path-style access)")
    String s3Endpoint;

    @Option(names = "--passphrase-file", description = "file whose first line is the passphrase (else $DBFS_PASSPHRASE)")
    Path passphraseFile;

    /** The bucket URL; a usage error naming {@code --bucket} if it was not given. */
    public String requireBucket() {
        return RequiredOptions.require(spec, bucket, "--bucket=URL");
    }

    public boolean hasBucket() {
        return bucket != null;
    }

    public String s3Endpoint() {
        return s3Endpoint;
    }

    public char[] passphrase() {
        return Passphrases.read(passphraseFile);
    }

    /** Opens the bucket (not yet checked for reachability). */
    public ObjectStore open() {
        return ObjectStores.open(requireBucket(), s3Endpoint);
    }
}
