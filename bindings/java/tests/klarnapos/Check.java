package klarnapos;

import java.util.Objects;

/** Assertions of the test program; a failure is an AssertionError naming what was checked. */
final class Check {
    private Check() {
    }

    interface Body {
        void run() throws Exception;
    }

    static void isTrue(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("expected: " + what);
        }
    }

    static void equal(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected <" + expected + ">, got <" + actual + ">");
        }
    }

    /** Runs {@code body}, which must throw exactly {@code type}; returns what it threw. */
    static <T extends Throwable> T throwsExactly(Class<T> type, Body body, String what) {
        try {
            body.run();
        } catch (Throwable e) {
            if (e.getClass() != type) {
                throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got " + e, e);
            }
            return type.cast(e);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + ", nothing was thrown");
    }
}
