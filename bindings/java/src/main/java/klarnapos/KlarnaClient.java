package klarnapos;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * A Klarna client: configuration, credentials and a keep-alive connection pool. Thread-safe:
 * create one at start-up and share it between all tills of the process. No network traffic
 * happens in the constructor. {@link #close()} releases it (sessions created from it stay
 * usable); after that every method throws IllegalStateException.
 */
public final class KlarnaClient implements AutoCloseable {
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /** A client from a configuration. Throws KlarnaInvalidArgumentException (field() names the
     * key) for a bad value. */
    public KlarnaClient(KlarnaConfig config) {
        this(config.toJson());
    }

    /** A client from the library's configuration JSON (keys in docs/configuration.md). */
    public KlarnaClient(String configJson) {
        this(open(Ffi.utf8(requireNonNull(configJson, "configJson"), "config")), true);
    }

    private KlarnaClient(Pointer opened, boolean unused) {
        Ffi.Api lib = Ffi.lib();
        handle = new Handle(opened, lib::kpos_client_free, "KlarnaClient");
        cleanable = Handle.CLEANER.register(this, handle);
    }

    /** A client configured from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD (and
     * KLARNA_USER_AGENT, KLARNA_JOURNAL_DIR), over the JSON file named by KLARNA_POS_CONFIG. */
    public static KlarnaClient fromEnvironment() {
        return new KlarnaClient(open(null), true);
    }

    private static Pointer open(byte[] config) {
        PointerByReference out = new PointerByReference();
        KlarnaException.check(Ffi.lib().kpos_client_new(config, out));
        return out.getValue();
    }

    static <T> T requireNonNull(T value, String what) {
        if (value == null) {
            throw new NullPointerException(what);
        }
        return value;
    }

    private <T> T call(Function<Pointer, T> body) {
        Pointer client = handle.acquire();
        try {
            return body.apply(client);
        } finally {
            handle.release();
        }
    }

    private String owned(Function<Pointer, Integer> body, PointerByReference out) {
        return call(client -> {
            KlarnaException.check(body.apply(client));
            return Ffi.takeOwned(out.getValue());
        });
    }

    /**
     * Validates the order locally (nothing is sent when a field is wrong:
     * KlarnaBadRequestException with field()), then starts the in-store payment with one request
     * to Klarna. {@code orderJson} is the body of Klarna's POST /payments/v1/sessions.
     */
    public KlarnaSession createSession(String orderJson) {
        byte[] order = Ffi.utf8(requireNonNull(orderJson, "orderJson"), "order");
        PointerByReference out = new PointerByReference();
        return call(client -> {
            KlarnaException.check(Ffi.lib().kpos_session_create(client, order, out));
            return new KlarnaSession(out.getValue());
        });
    }

    /** Continues a session created earlier (e.g. before a till restart) from its id and
     * resultUrl. No network traffic: call poll() to learn its status. */
    public KlarnaSession resumeSession(String sessionId, String resultUrl) {
        byte[] id = Ffi.utf8(requireNonNull(sessionId, "sessionId"), "session_id");
        byte[] url = Ffi.utf8(requireNonNull(resultUrl, "resultUrl"), "result_url");
        PointerByReference out = new PointerByReference();
        return call(client -> {
            KlarnaException.check(Ffi.lib().kpos_session_resume(client, id, url, out));
            return new KlarnaSession(out.getValue());
        });
    }

    // ---- after the sale: Order Management ---------------------------------------------------

    /** Klarna's order as JSON: status (AUTHORIZED, PART_CAPTURED, CAPTURED, CANCELLED, EXPIRED,
     * CLOSED), order_amount, captured_amount, refunded_amount, remaining_authorized_amount,
     * order_lines, captures, refunds, ... Throws KlarnaNotFoundException for an unknown order. */
    public String getOrder(String orderId) {
        byte[] id = orderIdArgument(orderId);
        PointerByReference out = new PointerByReference();
        return owned(client -> Ffi.lib().kpos_order_get(client, id, out), out);
    }

    /** Captures {@code amount} (minor units) of an order with a key the library makes; returns
     * Klarna's capture id. */
    public String capture(String orderId, long amount) {
        return capture(orderId, amount, null, null);
    }

    /**
     * Captures {@code amount} (minor units) of an order and returns Klarna's capture id.
     * {@code reference} may be null. {@code idempotencyKey} (1-64 printable ASCII characters, no
     * spaces) makes a repeated call capture once; null lets the library make one for its own
     * retries. After a timeout, network, rate-limit or unknown error, call again with the same
     * key. Throws KlarnaConflictException beyond the remaining authorization.
     */
    public String capture(String orderId, long amount, String reference, String idempotencyKey) {
        return captureWithBody(orderId, amountBody("captured_amount", amount, reference), idempotencyKey);
    }

    /** Captures with Klarna's capture body as JSON ({"captured_amount", "description"?,
     * "reference"?, "order_lines"?, ...}), checked before anything is sent
     * (KlarnaBadRequestException with field()); returns the capture id. */
    public String captureWithBody(String orderId, String captureJson, String idempotencyKey) {
        byte[] id = orderIdArgument(orderId);
        byte[] body = Ffi.utf8(requireNonNull(captureJson, "captureJson"), "capture");
        byte[] key = Ffi.utf8(idempotencyKey, "idempotency_key");
        PointerByReference out = new PointerByReference();
        return owned(client -> Ffi.lib().kpos_order_capture(client, id, body, key, out), out);
    }

    /** Refunds {@code amount} (minor units) of a captured order with a key the library makes;
     * returns Klarna's refund id. */
    public String refund(String orderId, long amount) {
        return refund(orderId, amount, null, null);
    }

    /** Refunds {@code amount} (minor units) of a captured order and returns Klarna's refund id;
     * repeated with its {@code idempotencyKey}, the refund is booked once and the same id
     * returned. Throws KlarnaConflictException above the captured amount (Klarna's
     * REFUND_NOT_ALLOWED). */
    public String refund(String orderId, long amount, String reference, String idempotencyKey) {
        return refundWithBody(orderId, amountBody("refunded_amount", amount, reference), idempotencyKey);
    }

    /** Refunds with Klarna's refund body as JSON ({"refunded_amount", "description"?,
     * "reference"?, "order_lines"?, ...}), checked before anything is sent; returns the refund
     * id. A journal record's body is repeated this way. */
    public String refundWithBody(String orderId, String refundJson, String idempotencyKey) {
        byte[] id = orderIdArgument(orderId);
        byte[] body = Ffi.utf8(requireNonNull(refundJson, "refundJson"), "refund");
        byte[] key = Ffi.utf8(idempotencyKey, "idempotency_key");
        PointerByReference out = new PointerByReference();
        return owned(client -> Ffi.lib().kpos_order_refund(client, id, body, key, out), out);
    }

    /** Cancels an order before anything was captured (a void); {@code idempotencyKey} may be
     * null. Throws KlarnaConflictException once something was captured: refund instead. */
    public void cancelOrder(String orderId, String idempotencyKey) {
        byte[] id = orderIdArgument(orderId);
        byte[] key = Ffi.utf8(idempotencyKey, "idempotency_key");
        call(client -> {
            KlarnaException.check(Ffi.lib().kpos_order_cancel(client, id, key));
            return null;
        });
    }

    /** Releases the part of the authorization that will not be captured; {@code idempotencyKey}
     * may be null. Throws KlarnaConflictException when Klarna does not allow it (e.g. after a
     * cancel, or before any capture). */
    public void releaseRemainingAuthorization(String orderId, String idempotencyKey) {
        byte[] id = orderIdArgument(orderId);
        byte[] key = Ffi.utf8(idempotencyKey, "idempotency_key");
        call(client -> {
            KlarnaException.check(Ffi.lib().kpos_order_release_remaining_authorization(client, id, key));
            return null;
        });
    }

    // ---- health check -----------------------------------------------------------------------

    /**
     * Checks that this till reaches Klarna with this configuration, creating nothing: name
     * resolution, TCP connect, proxy, TLS handshake (verified chain, expiry), credentials and the
     * clock's offset (kpos_client_check). A failing step does not throw: its code and what to do
     * are in the result.
     */
    public HealthCheck check() {
        PointerByReference out = new PointerByReference();
        return call(client -> {
            int code = Ffi.lib().kpos_client_check(client, out);
            if (out.getValue() == null) {
                KlarnaException.check(code);
            }
            return new HealthCheck(code, Ffi.takeOwned(out.getValue()));
        });
    }

    // ---- the store's day -----------------------------------------------------------------------

    /**
     * The store's day for a cash-up (kpos_history_report): the work finished from {@code from}
     * (inclusive) to {@code to} (exclusive), RFC 3339 date-times with an offset
     * ("2026-11-30T00:00:00+01:00"), read from the history in journal_dir, parsed: counts and
     * sums in minor units per currency and outcome, and the items. Throws
     * KlarnaInvalidArgumentException (field() "from" or "to") for a bad bound, and for a client
     * without a journal.
     */
    public HistoryReport historyReport(String from, String to) {
        byte[] lower = Ffi.utf8(requireNonNull(from, "from"), "from");
        byte[] upper = Ffi.utf8(requireNonNull(to, "to"), "to");
        PointerByReference out = new PointerByReference();
        return HistoryReport.parse(owned(client -> Ffi.lib().kpos_history_report(client, lower, upper, out), out));
    }

    /** {@link #historyReport(String, String)} for two instants (their offsets are kept). */
    public HistoryReport historyReport(OffsetDateTime from, OffsetDateTime to) {
        return historyReport(requireNonNull(from, "from").format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                requireNonNull(to, "to").format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    }

    /**
     * "Was this sale paid?" (kpos_history_find): every session and Order Management record of
     * the history and the journal whose merchant_reference1 or merchant_reference2 is
     * {@code merchantReference}, oldest first, each with its outcome ("paid", "open",
     * "refunded", ...). An empty list means nothing is known here: look the reference up in
     * Klarna's merchant portal. Throws KlarnaInvalidArgumentException (field()
     * "merchant_reference") for an empty or overlong reference, and for a client without a
     * journal.
     */
    public List<HistoryRecord> historyFind(String merchantReference) {
        byte[] reference = Ffi.utf8(requireNonNull(merchantReference, "merchantReference"), "merchant_reference");
        PointerByReference out = new PointerByReference();
        String json = owned(client -> Ffi.lib().kpos_history_find(client, reference, out), out);
        List<HistoryRecord> records = new ArrayList<>();
        for (Object item : (List<?>) JsonReader.parse(json)) {
            records.add(HistoryRecord.of(item));
        }
        return Collections.unmodifiableList(records);
    }

    // ---- crash safety and webhooks ----------------------------------------------------------

    /**
     * The open work of the client's journal (configuration journal_dir) as a JSON array, oldest
     * first, one record per line: sessions to resume ({"kind":"session","session_id",
     * "result_url",...}; session_id null when the create was never answered) and Order
     * Management calls to repeat with their key ({"kind":"capture"|"refund"|"cancel"|"release",
     * "order_id","idempotency_key","body",...}). Throws KlarnaInvalidArgumentException for a
     * client without a journal.
     */
    public String journalPending() {
        PointerByReference out = new PointerByReference();
        return owned(client -> Ffi.lib().kpos_journal_pending(client, out), out);
    }

    /**
     * Verifies a callback Klarna made to the webhook_url and merges the status it reports into
     * its session (an await returns at once). Call it from the receiver, on any thread, for
     * every request to that path, with the request target ("/path?query", the full URL or the
     * query) and the body as received. Answer 200 when it returns; 403 for
     * KlarnaPermissionDeniedException (forged or altered: nothing changed); 404 for
     * KlarnaNotFoundException; 400 for KlarnaBadRequestException; 503 for any other
     * KlarnaException (Klarna delivers again).
     */
    public WebhookResult verifyWebhook(String request, byte[] body) {
        byte[] target = requireNonNull(request, "request").getBytes(StandardCharsets.UTF_8);
        requireNonNull(body, "body");
        // Bytes with their lengths, exactly as received; an empty input is still a pointer.
        byte[] targetArg = target.length == 0 ? new byte[1] : target;
        byte[] bodyArg = body.length == 0 ? new byte[1] : body;
        PointerByReference sessionId = new PointerByReference();
        IntByReference status = new IntByReference();
        return call(client -> {
            KlarnaException.check(Ffi.lib().kpos_webhook_verify(client, targetArg, new Ffi.SizeT(target.length),
                    bodyArg, new Ffi.SizeT(body.length), sessionId, status));
            return new WebhookResult(Ffi.takeOwned(sessionId.getValue()), SessionStatus.of(status.getValue()));
        });
    }

    private static byte[] orderIdArgument(String orderId) {
        return Ffi.utf8(requireNonNull(orderId, "orderId"), "order_id");
    }

    private static String amountBody(String amountKey, long amount, String reference) {
        String body = "{\"" + amountKey + "\":" + amount;
        if (reference != null) {
            body += ",\"reference\":" + Json.quote(reference);
        }
        return body + "}";
    }

    /** Releases the client (once no call on another thread uses it). Sessions created from it
     * stay usable. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }
}
