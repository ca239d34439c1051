// SPDX-License-Identifier: Apache-2.0
package dev.vless.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vless.testing.LeakDetectionExtension;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.Extension;

/**
 * The fuzz targets rely on the leak check that spec's test-jar registers through JUnit's extension auto-detection;
 * a {@code junit-platform.properties} of this module's own would shadow the test-jar's and silently turn it off.
 */
class LeakCheckTest {

    @Test
    void leakDetectionExtensionIsAutoRegistered() throws IOException {
        Properties config = new Properties();
        try (InputStream in = LeakCheckTest.class.getClassLoader().getResourceAsStream("junit-platform.properties")) {
            assertThat(in).as("junit-platform.properties on the test classpath").isNotNull();
            config.load(in);
        }
        assertThat(config.getProperty("junit.jupiter.extensions.autodetection.enabled")).isEqualTo("true");
        assertThat(ServiceLoader.load(Extension.class)).anyMatch(LeakDetectionExtension.class::isInstance);
    }
}
