package klarnapos;

/** KPOS_E_INTERNAL (90): a bug in the library (a caught panic); the process is unharmed. Report it. */
public class KlarnaInternalException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaInternalException(String message) {
        super(90, message);
    }
}
