package klarnapos;

/** KPOS_E_NOT_FOUND (13): the session or order is unknown to Klarna. Check the id. */
public class KlarnaNotFoundException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaNotFoundException(String message) {
        super(13, message);
    }
}
