// SPDX-License-Identifier: Apache-2.0
package dev.vless.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaks a {@code ByteBuf}. Registered for every test through JUnit's extension auto-detection
 * (see {@code junit-platform.properties}); the build runs with {@code -Dio.netty.leakDetection.level=paranoid}.
 *
 * <p>Netty reports a leak only when the garbage collector has collected an unreleased buffer and a later allocation
 * polls the reference queue, so after each test this forces a few GC cycles and allocations before it looks.
 */
public final class LeakDetectionExtension implements BeforeEachCallback, AfterEachCallback {

    private static final List<String> LEAKS = new ArrayList<>();

    static {
        try {
            Class<?> abstractByteBuf = Class.forName("io.netty.buffer.AbstractByteBuf");
            Field field = abstractByteBuf.getDeclaredField("leakDetector");
            field.setAccessible(true);
            ResourceLeakDetector<?> detector = (ResourceLeakDetector<?>) field.get(null);
            detector.setLeakListener((resourceType, records) -> {
                synchronized (LEAKS) {
                    LEAKS.add(resourceType + " leaked:" + records);
                }
            });
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Collects garbage until Netty has reported every unreleased buffer, and returns the reports since last time. */
    public static List<String> collectLeaks() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            System.runFinalization();
            // Each tracked allocation polls the detector's reference queue.
            for (int j = 0; j < 4; j++) {
                ByteBuf probe = ByteBufAllocator.DEFAULT.buffer(1);
                probe.release();
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        synchronized (LEAKS) {
            List<String> found = new ArrayList<>(LEAKS);
            LEAKS.clear();
            return found;
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        // A report left over from an earlier test or fixture is not this test's. No GC here: the previous test's
        // afterEach already collected, and forcing GC twice per test made the suites several times slower.
        synchronized (LEAKS) {
            LEAKS.clear();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.DISABLED) {
            return;
        }
        List<String> leaks = collectLeaks();
        if (!leaks.isEmpty()) {
            throw new AssertionError("ByteBuf leak in " + context.getDisplayName() + ":\n" + String.join("\n", leaks));
        }
    }
}
