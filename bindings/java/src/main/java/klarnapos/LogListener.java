package klarnapos;

/** Receives the library's log lines (see {@link KlarnaLibrary#setLogListener}). */
@FunctionalInterface
public interface LogListener {
    /** One line; called from any thread, concurrently. Must return quickly. */
    void log(LogLevel level, String message);
}
