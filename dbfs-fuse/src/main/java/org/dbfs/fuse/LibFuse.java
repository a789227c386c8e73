package org.dbfs.fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds libfuse3. jfuse's default is System.loadLibrary("fuse3"), which needs the unversioned
 * libfuse3.so that only the -dev package installs, so the runtime library is looked up by its
 * soname in the usual places instead.
 */
final class LibFuse {

    /** Overrides the search, for unusual installations. */
    static final String PATH_ENV = "DBFS_LIBFUSE";

    private static final List<String> CANDIDATES = List.of(
            "/usr/lib/x86_64-linux-gnu/libfuse3.so.3",
            "/lib/x86_64-linux-gnu/libfuse3.so.3",
            "/usr/lib/aarch64-linux-gnu/libfuse3.so.3",
            "/lib/aarch64-linux-gnu/libfuse3.so.3",
            "/usr/lib64/libfuse3.so.3",
            "/usr/lib/libfuse3.so.3");

    private LibFuse() {
    }

    static Path path() {
        String override = System.getenv(PATH_ENV);
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        for (String candidate : CANDIDATES) {
            Path p = Path.of(candidate);
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalStateException("libfuse3.so.3 not found (install the libfuse3-3 and fuse3 packages, or set "
                + PATH_ENV + " to its path); looked in " + CANDIDATES);
    }

    /** A downcall to one of libfuse's functions that jfuse does not expose. */
    static MethodHandle function(Path libfuse, String name, FunctionDescriptor signature) {
        MemorySegment symbol = SymbolLookup.libraryLookup(libfuse, Arena.global()).find(name)
                .orElseThrow(() -> new IllegalStateException(name + " not found in " + libfuse));
        return Linker.nativeLinker().downcallHandle(symbol, signature);
    }
}
