package klarnapos;

/** KPOS_E_BAD_REQUEST (10): the order or request is not acceptable; {@link #field()} names the first offending field. Create the request again with appropriate input. */
public class KlarnaBadRequestException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaBadRequestException(String message) {
        super(10, message);
    }
}
