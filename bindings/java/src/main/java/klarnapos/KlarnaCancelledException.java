package klarnapos;

/** KPOS_E_CANCELLED (50): interrupted by {@link KlarnaSession#cancel()} from another thread. */
public class KlarnaCancelledException extends KlarnaException {
    private static final long serialVersionUID = 1L;

    KlarnaCancelledException(String message) {
        super(50, message);
    }
}
