package org.dbfs.pgformat;

import java.util.Optional;

/** PostgreSQL's ForkNumber (common/relpath.h); the number is what goes on the wire. */
public enum ForkNumber {
    MAIN_FORKNUM(0, "main"),
    FSM_FORKNUM(1, "fsm"),
    VISIBILITYMAP_FORKNUM(2, "vm"),
    INIT_FORKNUM(3, "init");

    /** MAX_FORKNUM: the highest fork number. */
    public static final int MAX_FORKNUM = INIT_FORKNUM.forkNum;

    private final int forkNum;
    private final String forkName;

    ForkNumber(int forkNum, String forkName) {
        this.forkNum = forkNum;
        this.forkName = forkName;
    }

    public int forkNum() {
        return forkNum;
    }

    /** The name in forkNames[]; every fork but the main one appears as "_" + forkName in file names. */
    public String forkName() {
        return forkName;
    }

    public static ForkNumber of(int forkNum) {
        for (ForkNumber f : values()) {
            if (f.forkNum == forkNum) {
                return f;
            }
        }
        throw new IllegalArgumentException("no such fork number: " + forkNum);
    }

    /** Like forkname_to_number(), but "main" is not accepted: the main fork has no suffix in paths. */
    static Optional<ForkNumber> fromFileNameSuffix(String suffix) {
        for (ForkNumber f : values()) {
            if (f != MAIN_FORKNUM && f.forkName.equals(suffix)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
