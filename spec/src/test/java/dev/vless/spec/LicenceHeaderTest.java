// SPDX-License-Identifier: Apache-2.0
package dev.vless.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The licence policy of the README: every source file and script in the repository names its licence in an
 * {@code SPDX-License-Identifier: Apache-2.0} comment within its first three lines.
 */
class LicenceHeaderTest {

    private static final String SPDX = "SPDX-License-Identifier: Apache-2.0";

    @Test
    void everySourceFileAndScriptCarriesTheSpdxIdentifier() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent(); // the build runs this test in spec/
        assertThat(root.resolve("LICENSE")).as("the repository root, with its LICENSE").exists();
        List<Path> files;
        try (Stream<Path> all = Files.walk(root)) {
            files = all.filter(Files::isRegularFile)
                    .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/.git/")
                            && !p.toString().contains("/.mvn/"))
                    .filter(p -> {
                        String rel = root.relativize(p).toString().replace('\\', '/');
                        return rel.endsWith(".java") || rel.endsWith(".py") || rel.startsWith("bin/")
                                || rel.equals(".ci/run");
                    })
                    .collect(Collectors.toList());
        }
        assertThat(files).as("files checked").hasSizeGreaterThan(100);
        List<String> missing = files.stream().filter(p -> !carriesIdentifier(p))
                .map(p -> root.relativize(p).toString()).sorted().toList();
        assertThat(missing).as("files without '%s' in their first three lines", SPDX).isEmpty();
    }

    private static boolean carriesIdentifier(Path p) {
        try (Stream<String> lines = Files.lines(p, StandardCharsets.UTF_8)) {
            return lines.limit(3).anyMatch(l -> l.contains(SPDX));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
