package klarnapos;

/** Status of an in-store payment, with the numbers of the C header's KPOS_STATUS_*. */
public enum SessionStatus {
    /** Created locally; no status read yet. */
    CREATED(0),
    /** Klarna is preparing the distribution (older API versions). */
    WAITING(1),
    /** The QR code / payment link is ready: show it (screen at full brightness). */
    DISTRIBUTED(2),
    /** The customer opened it: show "payment in progress". */
    ACCESSED(3),
    /** Payment done, order placed: {@link KlarnaSession#orderId()} is set. Terminal. */
    COMPLETED(4),
    /** Cancelled by the till or the customer. Terminal. */
    CANCELED(5),
    /** Klarna could not complete it: {@link KlarnaSession#failure()} tells why. Terminal. */
    FAILED(6),
    /** The session ran out of time. Terminal. */
    EXPIRED(7),
    /** A status this version does not know (Klarna added one). Not terminal, not an error:
     * keep waiting. */
    UNKNOWN(99);

    private final int code;

    SessionStatus(int code) {
        this.code = code;
    }

    /** The KPOS_STATUS_* number. */
    public int code() {
        return code;
    }

    /** The status of a KPOS_STATUS_* number; UNKNOWN for a number a newer library added. */
    public static SessionStatus of(int code) {
        for (SessionStatus s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }

    /** True for COMPLETED, CANCELED, FAILED and EXPIRED: the session never moves again. */
    public boolean isTerminal() {
        return Ffi.lib().kpos_status_is_terminal(code) != 0;
    }

    /** The library's name of the status, e.g. "COMPLETED". */
    public String nativeName() {
        return Ffi.string(Ffi.lib().kpos_status_name(code));
    }

    /**
     * The English text Klarna's in-store best practices recommend showing the cashier:
     * DISTRIBUTED "Scan the QR code with your phone", ACCESSED "Payment in progress", COMPLETED
     * "Payment is done", FAILED "Something went wrong" (show the session id next to it), ...;
     * UNKNOWN "Checking the payment status...".
     */
    public String displayText() {
        return Ffi.string(Ffi.lib().kpos_status_display_text(code));
    }

    /**
     * The cashier's text in {@code language}, a BCP 47 tag such as "sv", "sv-SE", "nb-NO" or
     * "de-AT" (case-insensitive): the region's text, else the language's, else English (also for
     * null). Fits two lines of 20 characters.
     */
    public String displayText(String language) {
        return Ffi.string(Ffi.lib().kpos_status_display_text_for(code, tag(language)));
    }

    /**
     * The customer's text in {@code language} (as for {@link #displayText(String)}):
     * DISTRIBUTED "Scan the QR code with your phone camera", ACCESSED "Confirm in the Klarna
     * app", COMPLETED "Payment approved. Thank you!", ... Fits two lines of 32 characters.
     */
    public String customerText(String language) {
        return Ffi.string(Ffi.lib().kpos_status_customer_text_for(code, tag(language)));
    }

    private static byte[] tag(String language) {
        // A tag the library cannot read names no language: English.
        if (language == null || language.indexOf('\0') >= 0) {
            return null;
        }
        try {
            return Ffi.utf8(language, "language");
        } catch (KlarnaException e) {
            return null;
        }
    }
}
