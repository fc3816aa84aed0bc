package klarnapos;

/** KPOS_E_TIMEOUT (30): no answer in time, or {@link KlarnaSession#await} ran out. Retry, or
 * cancel the session. */
public class KlarnaTimeoutException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    private SessionStatus lastStatus;

    KlarnaTimeoutException(String message) {
        super(30, message);
    }

    /** The last known status when thrown by {@link KlarnaSession#await}; null otherwise. */
    public SessionStatus lastStatus() {
        return lastStatus;
    }

    void setLastStatus(SessionStatus status) {
        lastStatus = status;
    }
}
