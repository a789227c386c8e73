package org.dbfs.walservice.replication;

/**
 * The primary is reachable but is not one this service may follow (other timeline, other system,
 * other segment size than the local log): retrying will not help, the operator must act.
 */
public class PrimaryRefusedException extends RuntimeException {
    public PrimaryRefusedException(String message) {
        super(message);
    }
}
