package org.dbfs.bucket.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PassphrasesTest {
    @TempDir
    Path dir;

    @Test
    void fileWinsOverEnvironmentAndLosesItsLineEnding() throws Exception {
        Path f = dir.resolve("pw");
        Files.writeString(f, "correct horse ✓\r\nsecond line\n", StandardCharsets.UTF_8);
        assertArrayEquals("correct horse ✓".toCharArray(), Passphrases.read(f, Map.of("DBFS_PASSPHRASE", "env")::get));
        Files.writeString(f, "no newline", StandardCharsets.UTF_8);
        assertArrayEquals("no newline".toCharArray(), Passphrases.read(f, k -> null));
        Files.writeString(f, " spaces kept \n", StandardCharsets.UTF_8);
        assertArrayEquals(" spaces kept ".toCharArray(), Passphrases.read(f, k -> null));
    }

    @Test
    void environmentIsTheFallback() {
        assertArrayEquals("from env".toCharArray(), Passphrases.read(null, Map.of("DBFS_PASSPHRASE", "from env")::get));
    }

    @Test
    void missingPassphraseSaysWhatToDo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Passphrases.read(null, k -> null));
        assertTrue(e.getMessage().contains("--passphrase-file") && e.getMessage().contains("DBFS_PASSPHRASE"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Passphrases.read(null, k -> ""));
    }

    @Test
    void unusableFilesAreClearErrors() throws Exception {
        Path missing = dir.resolve("missing");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Passphrases.read(missing, k -> "env"));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "\nsecret\n");
        assertThrows(IllegalArgumentException.class, () -> Passphrases.read(empty, k -> null));
        Path binary = dir.resolve("binary");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 'a'});
        assertThrows(IllegalArgumentException.class, () -> Passphrases.read(binary, k -> null));
    }
}
