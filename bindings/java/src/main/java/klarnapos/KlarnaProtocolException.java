package klarnapos;

/** KPOS_E_PROTOCOL (33): the server answered something unparseable or unexpected. Contact support. */
public class KlarnaProtocolException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaProtocolException(String message) {
        super(33, message);
    }
}
