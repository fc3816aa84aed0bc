package klarnapos;

/** Receives a watched session's statuses (see {@link KlarnaSession#watch}). */
@FunctionalInterface
public interface StatusListener {
    /** One status: first the current one, then each change in order, the last one terminal.
     * Called on the library's listener thread: return quickly. */
    void onStatus(KlarnaSession session, SessionStatus status);
}
