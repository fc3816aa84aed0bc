package klarnapos;

/** KPOS_E_TLS (32): certificate or TLS handshake failure. Check the trust store (ca_file) and the clock. */
public class KlarnaTlsException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaTlsException(String message) {
        super(32, message);
    }
}
