package org.dbfs.pgformat;

/** A pg_control that PostgreSQL 15 would refuse: too short, another pg_control_version, or a bad CRC. */
public final class ControlFileException extends IllegalArgumentException {
    public ControlFileException(String message) {
        super(message);
    }
}
