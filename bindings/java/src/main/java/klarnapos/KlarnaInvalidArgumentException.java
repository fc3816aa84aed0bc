package klarnapos;

/** KPOS_E_INVALID_ARGUMENT (1): API misuse, a bad configuration ({@link #field()} names the key), unreadable JSON, a closed handle. Fix the calling code. */
public class KlarnaInvalidArgumentException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaInvalidArgumentException(String message) {
        super(1, message);
    }
}
