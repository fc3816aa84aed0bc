package klarnapos;

/** KPOS_E_CONFLICT (14): not allowed in the current state (e.g. cancelling a COMPLETED payment: refund it instead). */
public class KlarnaConflictException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaConflictException(String message) {
        super(14, message);
    }
}
