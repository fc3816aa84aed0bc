package klarnapos;

/** KPOS_E_RATE_LIMITED (15): Klarna's rate limit after the library's own backoff. Retry later. */
public class KlarnaRateLimitedException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaRateLimitedException(String message) {
        super(15, message);
    }
}
