package klarnapos;

/** KPOS_E_NETWORK (31): the connection failed or was reset, DNS, proxy. Retry. */
public class KlarnaNetworkException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaNetworkException(String message) {
        super(31, message);
    }
}
