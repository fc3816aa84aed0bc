// Exceptions: one class per kpos_result code, all KlarnaException, built from the detail the
// library keeps for the calling thread (the kpos_last_error_* getters; no JSON is parsed).

package klarnapos;

/**
 * A failing library call, with everything the library knew about the failure. Catch a subclass
 * to handle one kind of failure (e.g. {@link KlarnaBadRequestException}), or this class for all
 * of them. Unchecked, like the failures of the other bindings: every method that talks to the
 * library may throw one.
 */
public class KlarnaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    static final int INVALID_ARGUMENT = 1;
    static final int TIMEOUT = 30;

    private final int code;
    private final String name;
    private final KlarnaAction action;
    private Integer httpStatus;
    private String klarnaErrorCode;
    private String correlationId;
    private String field;
    private String detailJson;
    private Long retryAfterMs;

    /** For the subclasses; the binding creates these exceptions itself. */
    KlarnaException(int code, String message) {
        super(message);
        this.code = code;
        this.name = Ffi.string(Ffi.lib().kpos_result_name(code));
        this.action = KlarnaAction.of(Ffi.lib().kpos_result_action(code));
    }

    /** The kpos_result number, e.g. 10. */
    public int code() {
        return code;
    }

    /** The code's name, e.g. "KPOS_E_BAD_REQUEST". */
    public String name() {
        return name;
    }

    /** What to do about it. */
    public KlarnaAction action() {
        return action;
    }

    /** The HTTP status Klarna answered (e.g. 400, 404, 503); null when there was no answer. */
    public Integer httpStatus() {
        return httpStatus;
    }

    /** Klarna's error code (e.g. "BAD_VALUE", "NO_SUCH_ORDER"), or null when Klarna gave none. */
    public String klarnaErrorCode() {
        return klarnaErrorCode;
    }

    /** Klarna's correlation id (quote it to Klarna merchant support), or null. */
    public String correlationId() {
        return correlationId;
    }

    /** The offending field of a refused order or configuration (e.g.
     * "order_lines[1].total_tax_amount", "journal_dir"), or null. */
    public String field() {
        return field;
    }

    /** With a rate-limited failure: how many milliseconds Klarna asked this client to wait
     * before the next request of the same kind; null when it gave no wait. */
    public Long retryAfterMs() {
        return retryAfterMs;
    }

    /** The library's whole detail as JSON (kpos_last_error_json), e.g. for Klarna's
     * error_messages; null for a failure the binding found itself. */
    public String detailJson() {
        return detailJson;
    }

    /** "KPOS_E_NAME: message", then the correlation id when known. */
    @Override
    public String toString() {
        String text = name + ": " + getMessage();
        if (correlationId != null && !correlationId.isEmpty()) {
            text += " (correlation_id " + correlationId + ")";
        }
        return text;
    }

    /**
     * The exception for a call on this thread that just returned {@code code}; must be called
     * right after that call, on the same thread.
     */
    static KlarnaException fromLastError(int code) {
        Ffi.Api lib = Ffi.lib();
        String fallback = Ffi.string(lib.kpos_result_text(code));
        if (lib.kpos_last_error_code() != code) {
            return create(code, fallback);
        }
        String correlationId = Ffi.string(lib.kpos_last_error_correlation_id());
        String message = bareMessage(code, Ffi.string(lib.kpos_last_error_message()), correlationId);
        KlarnaException e = create(code, message == null || message.isEmpty() ? fallback : message);
        int http = lib.kpos_last_error_http_status();
        e.httpStatus = http == 0 ? null : http;
        e.klarnaErrorCode = Ffi.string(lib.kpos_last_error_klarna_code());
        e.correlationId = correlationId;
        e.field = Ffi.string(lib.kpos_last_error_field());
        // An unsigned 32-bit number in a Java int.
        long retryAfter = lib.kpos_last_error_retry_after_ms() & 0xFFFFFFFFL;
        e.retryAfterMs = retryAfter == 0 ? null : retryAfter;
        e.detailJson = Ffi.string(lib.kpos_last_error_json());
        return e;
    }

    /** kpos_last_error_message() without its leading "KPOS_E_NAME: " and trailing
     * " (correlation_id ID)", which the exception keeps apart. */
    static String bareMessage(int code, String message, String correlationId) {
        if (message == null) {
            return null;
        }
        String prefix = Ffi.string(Ffi.lib().kpos_result_name(code)) + ": ";
        if (message.startsWith(prefix)) {
            message = message.substring(prefix.length());
        }
        String suffix = " (correlation_id " + correlationId + ")";
        if (correlationId != null && !correlationId.isEmpty() && message.endsWith(suffix)) {
            message = message.substring(0, message.length() - suffix.length());
        }
        return message;
    }

    /** A failure the binding finds itself before calling the library (e.g. a NUL inside a
     * string argument), shaped like the library's own. */
    static KlarnaException local(int code, String message, String field) {
        KlarnaException e = create(code, message);
        e.field = field;
        return e;
    }

    /** Throws the matching exception unless {@code code} is KPOS_OK. */
    static void check(int code) {
        if (code != 0) {
            throw fromLastError(code);
        }
    }

    static KlarnaException create(int code, String message) {
        switch (code) {
            case 1: return new KlarnaInvalidArgumentException(message);
            case 10: return new KlarnaBadRequestException(message);
            case 11: return new KlarnaPermissionDeniedException(message);
            case 12: return new KlarnaUnknownException(message);
            case 13: return new KlarnaNotFoundException(message);
            case 14: return new KlarnaConflictException(message);
            case 15: return new KlarnaRateLimitedException(message);
            case 30: return new KlarnaTimeoutException(message);
            case 31: return new KlarnaNetworkException(message);
            case 32: return new KlarnaTlsException(message);
            case 33: return new KlarnaProtocolException(message);
            case 50: return new KlarnaCancelledException(message);
            case 90: return new KlarnaInternalException(message);
            default: return new KlarnaException(code, message); // a newer library's code
        }
    }
}
