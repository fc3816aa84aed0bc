package klarnapos;

/** KPOS_E_PERMISSION_DENIED (11): credentials wrong or not allowed. Do not retry; contact Klarna merchant support. */
public class KlarnaPermissionDeniedException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaPermissionDeniedException(String message) {
        super(11, message);
    }
}
