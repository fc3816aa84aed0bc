package klarnapos;

import java.util.Collections;
import java.util.Map;

/** One session or Order Management record of the history or the journal, as
 * {@link KlarnaClient#historyReport} and {@link KlarnaClient#historyFind} give them. */
public final class HistoryRecord {
    private final Map<String, Object> fields;

    HistoryRecord(Map<String, Object> fields) {
        this.fields = Collections.unmodifiableMap(fields);
    }

    static HistoryRecord of(Object value) {
        @SuppressWarnings("unchecked")
        Map<String, Object> fields = (Map<String, Object>) value;
        return new HistoryRecord(fields);
    }

    private String text(String key) {
        Object v = fields.get(key);
        return v instanceof String ? (String) v : null;
    }

    /** "session", "capture", "refund", "cancel" or "release". */
    public String kind() {
        return text("kind");
    }

    /** "paid", "cancelled", "failed", "expired", "open", "captured", "refunded",
     * "order_cancelled", "released", "refused" or "unanswered". */
    public String outcome() {
        return text("outcome");
    }

    /** Minor units (order amount, captured or refunded amount); null when none. */
    public Long amount() {
        Object v = fields.get("amount");
        return v instanceof Long ? (Long) v : null;
    }

    /** ISO 4217 code, or null when unknown. */
    public String purchaseCurrency() {
        return text("purchase_currency");
    }

    /** The sale's merchant_reference1. */
    public String merchantReference1() {
        return text("merchant_reference1");
    }

    /** The sale's merchant_reference2. */
    public String merchantReference2() {
        return text("merchant_reference2");
    }

    /** Klarna's session id (null for a create never answered). */
    public String sessionId() {
        return text("session_id");
    }

    /** Klarna's order id. */
    public String orderId() {
        return text("order_id");
    }

    /** The Order Management call's idempotency key. */
    public String idempotencyKey() {
        return text("idempotency_key");
    }

    /** Klarna's capture or refund id. */
    public String createdId() {
        return text("created_id");
    }

    /** Klarna's code for a failed session or a refused call. */
    public String failureCode() {
        return text("failure_code");
    }

    /** RFC 3339 UTC, when the work started. */
    public String createdAt() {
        return text("created_at");
    }

    /** RFC 3339 UTC, when the outcome was recorded; null while open. */
    public String finishedAt() {
        return text("finished_at");
    }

    /** Every field as the library wrote it (String, Long, Double, Boolean, null, Map, List). */
    public Map<String, Object> fields() {
        return fields;
    }

    @Override
    public String toString() {
        return kind() + " " + outcome() + " " + fields;
    }
}
