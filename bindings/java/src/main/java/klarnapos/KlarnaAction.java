package klarnapos;

/** What to do about a failure (KPOS_ACTION_*). */
public enum KlarnaAction {
    /** Nothing to do. */
    NONE(0),
    /** Create the request again with appropriate input (check ids, amounts, fields). */
    FIX_INPUT(1),
    /** Retry later; the failure is temporary. */
    RETRY(2),
    /** Do not retry; contact Klarna merchant support (quote the correlation id). */
    CONTACT_SUPPORT(3),
    /** Fix the calling code or configuration. */
    FIX_CALLER(4);

    private final int code;

    KlarnaAction(int code) {
        this.code = code;
    }

    /** The KPOS_ACTION_* number. */
    public int code() {
        return code;
    }

    /** The action of a KPOS_ACTION_* number; CONTACT_SUPPORT for a number this version does not know. */
    public static KlarnaAction of(int code) {
        for (KlarnaAction a : values()) {
            if (a.code == code) {
                return a;
            }
        }
        return CONTACT_SUPPORT;
    }
}
