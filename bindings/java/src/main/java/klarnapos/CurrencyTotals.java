package klarnapos;

import java.util.Collections;
import java.util.Map;

/** The totals of one currency in a {@link HistoryReport}, by outcome: "paid", "cancelled",
 * "failed", "expired", "open", "captured", "refunded", "order_cancelled", "released", "refused",
 * "unanswered". */
public final class CurrencyTotals {
    private final String currency;
    private final Map<String, OutcomeTotal> outcomes;

    CurrencyTotals(String currency, Map<String, OutcomeTotal> outcomes) {
        this.currency = currency;
        this.outcomes = Collections.unmodifiableMap(outcomes);
    }

    /** ISO 4217 code; null for Order Management work on orders the history has no sale for. */
    public String currency() {
        return currency;
    }

    /** Totals by outcome name, as the library reported them. */
    public Map<String, OutcomeTotal> outcomes() {
        return outcomes;
    }

    /** The totals of {@code outcome} (zero when absent). */
    public OutcomeTotal get(String outcome) {
        OutcomeTotal t = outcomes.get(outcome);
        return t == null ? new OutcomeTotal(0, 0) : t;
    }
}
