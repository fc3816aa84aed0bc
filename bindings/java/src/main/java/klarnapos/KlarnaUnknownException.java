package klarnapos;

/** KPOS_E_UNKNOWN (12): Klarna system error. Do not retry the session; contact Klarna merchant support. */
public class KlarnaUnknownException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaUnknownException(String message) {
        super(12, message);
    }
}
