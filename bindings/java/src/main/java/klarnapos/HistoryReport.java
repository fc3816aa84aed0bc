package klarnapos;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The store's day for a cash-up, from {@link KlarnaClient#historyReport}: counts and sums per
 * currency and outcome, and the items (docs/day.md). */
public final class HistoryReport {
    private final String from;
    private final String to;
    private final long unwritten;
    private final List<CurrencyTotals> currencies;
    private final List<HistoryRecord> items;
    private final String json;

    private HistoryReport(String from, String to, long unwritten, List<CurrencyTotals> currencies,
            List<HistoryRecord> items, String json) {
        this.from = from;
        this.to = to;
        this.unwritten = unwritten;
        this.currencies = Collections.unmodifiableList(currencies);
        this.items = Collections.unmodifiableList(items);
        this.json = json;
    }

    /** The lower bound as given (inclusive). */
    public String from() {
        return from;
    }

    /** The upper bound as given (exclusive). */
    public String to() {
        return to;
    }

    /** History lines this process could not write yet (they are in the report). */
    public long unwritten() {
        return unwritten;
    }

    /** One row per currency. */
    public List<CurrencyTotals> currencies() {
        return currencies;
    }

    /** The items, oldest first. */
    public List<HistoryRecord> items() {
        return items;
    }

    /** The row of {@code currency} (null for the row of orders without a known sale), or null
     * when the report has none. */
    public CurrencyTotals forCurrency(String currency) {
        for (CurrencyTotals row : currencies) {
            if (currency == null ? row.currency() == null : currency.equals(row.currency())) {
                return row;
            }
        }
        return null;
    }

    /** The report as the library wrote it (kpos_history_report's JSON). */
    public String json() {
        return json;
    }

    @Override
    public String toString() {
        return json;
    }

    @SuppressWarnings("unchecked")
    static HistoryReport parse(String json) {
        Map<String, Object> o = (Map<String, Object>) JsonReader.parse(json);
        List<CurrencyTotals> currencies = new ArrayList<>();
        for (Object rowValue : (List<Object>) o.get("currencies")) {
            Map<String, Object> row = (Map<String, Object>) rowValue;
            Map<String, OutcomeTotal> outcomes = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : row.entrySet()) {
                if (e.getValue() instanceof Map) {
                    Map<String, Object> t = (Map<String, Object>) e.getValue();
                    outcomes.put(e.getKey(), new OutcomeTotal(number(t.get("count")), number(t.get("amount"))));
                }
            }
            Object currency = row.get("currency");
            currencies.add(new CurrencyTotals(currency instanceof String ? (String) currency : null, outcomes));
        }
        List<HistoryRecord> items = new ArrayList<>();
        for (Object item : (List<Object>) o.get("items")) {
            items.add(HistoryRecord.of(item));
        }
        return new HistoryReport((String) o.get("from"), (String) o.get("to"), number(o.get("unwritten")),
                currencies, items, json);
    }

    private static long number(Object value) {
        return value instanceof Long ? (Long) value : 0;
    }
}
