// The store's day as the library reports it (kpos_history_report, kpos_history_find), parsed.

using System;
using System.Collections.Generic;

namespace KlarnaPos
{
    /// <summary>A count and a sum of amounts in minor units (exact).</summary>
    public sealed class OutcomeTotal
    {
        /// <summary>How many items had the outcome.</summary>
        public long Count { get; internal set; }

        /// <summary>Their amounts added up, in minor units.</summary>
        public long Amount { get; internal set; }
    }

    /// <summary>The totals of one currency: by outcome ("paid", "cancelled", "failed",
    /// "expired", "open", "captured", "refunded", "order_cancelled", "released", "refused",
    /// "unanswered").</summary>
    public sealed class CurrencyTotals
    {
        /// <summary>ISO 4217 code; null for Order Management work on orders the history has no
        /// sale for.</summary>
        public string Currency { get; internal set; }

        /// <summary>Totals by outcome name; every outcome is present.</summary>
        public IDictionary<string, OutcomeTotal> Outcomes { get; internal set; }

        /// <summary>The totals of <paramref name="outcome"/> (zero when absent).</summary>
        public OutcomeTotal this[string outcome]
        {
            get
            {
                OutcomeTotal total;
                return Outcomes.TryGetValue(outcome, out total) ? total : new OutcomeTotal();
            }
        }
    }

    /// <summary>One session or Order Management record of the history or the journal.</summary>
    public sealed class HistoryRecord
    {
        /// <summary>"session", "capture", "refund", "cancel" or "release".</summary>
        public string Kind { get; internal set; }
        /// <summary>"paid", "cancelled", "failed", "expired", "open", "captured", "refunded",
        /// "order_cancelled", "released", "refused" or "unanswered".</summary>
        public string Outcome { get; internal set; }
        /// <summary>Minor units (order amount, captured or refunded amount); null when none.</summary>
        public long? Amount { get; internal set; }
        /// <summary>ISO 4217 code, or null when unknown.</summary>
        public string PurchaseCurrency { get; internal set; }
        /// <summary>The sale's merchant_reference1.</summary>
        public string MerchantReference1 { get; internal set; }
        /// <summary>The sale's merchant_reference2.</summary>
        public string MerchantReference2 { get; internal set; }
        /// <summary>Klarna's session id (null for a create never answered).</summary>
        public string SessionId { get; internal set; }
        /// <summary>Klarna's order id.</summary>
        public string OrderId { get; internal set; }
        /// <summary>The Order Management call's idempotency key.</summary>
        public string IdempotencyKey { get; internal set; }
        /// <summary>Klarna's capture or refund id.</summary>
        public string CreatedId { get; internal set; }
        /// <summary>Klarna's code for a failed session or a refused call.</summary>
        public string FailureCode { get; internal set; }
        /// <summary>RFC 3339 UTC, when the work started.</summary>
        public string CreatedAt { get; internal set; }
        /// <summary>RFC 3339 UTC, when the outcome was recorded; null while open.</summary>
        public string FinishedAt { get; internal set; }
        /// <summary>Every field as the library wrote it.</summary>
        public IDictionary<string, object> Fields { get; internal set; }

        internal static HistoryRecord From(object value)
        {
            var o = (IDictionary<string, object>)value;
            return new HistoryRecord
            {
                Kind = JsonReader.Text(o, "kind"),
                Outcome = JsonReader.Text(o, "outcome"),
                Amount = JsonReader.Number(o, "amount"),
                PurchaseCurrency = JsonReader.Text(o, "purchase_currency"),
                MerchantReference1 = JsonReader.Text(o, "merchant_reference1"),
                MerchantReference2 = JsonReader.Text(o, "merchant_reference2"),
                SessionId = JsonReader.Text(o, "session_id"),
                OrderId = JsonReader.Text(o, "order_id"),
                IdempotencyKey = JsonReader.Text(o, "idempotency_key"),
                CreatedId = JsonReader.Text(o, "created_id"),
                FailureCode = JsonReader.Text(o, "failure_code"),
                CreatedAt = JsonReader.Text(o, "created_at"),
                FinishedAt = JsonReader.Text(o, "finished_at"),
                Fields = o,
            };
        }

        internal static IList<HistoryRecord> ParseList(string json)
        {
            var records = new List<HistoryRecord>();
            foreach (object item in (IList<object>)JsonReader.Parse(json))
                records.Add(From(item));
            return records;
        }
    }

    /// <summary>The report of KlarnaClient.HistoryReport.</summary>
    public sealed class HistoryReport
    {
        /// <summary>The lower bound as given.</summary>
        public string From { get; internal set; }
        /// <summary>The upper bound as given.</summary>
        public string To { get; internal set; }
        /// <summary>History lines this process could not write yet (they are in the report).</summary>
        public long Unwritten { get; internal set; }
        /// <summary>One row per currency.</summary>
        public IList<CurrencyTotals> Currencies { get; internal set; }
        /// <summary>The items: history lines in the order recorded, then open records.</summary>
        public IList<HistoryRecord> Items { get; internal set; }

        /// <summary>The row of <paramref name="currency"/>, or null.</summary>
        public CurrencyTotals For(string currency)
        {
            foreach (var row in Currencies)
                if (row.Currency == currency)
                    return row;
            return null;
        }

        internal static HistoryReport Parse(string json)
        {
            var o = (IDictionary<string, object>)JsonReader.Parse(json);
            var report = new HistoryReport
            {
                From = JsonReader.Text(o, "from"),
                To = JsonReader.Text(o, "to"),
                Unwritten = JsonReader.Number(o, "unwritten") ?? 0,
                Currencies = new List<CurrencyTotals>(),
                Items = new List<HistoryRecord>(),
            };
            foreach (object rowValue in (IList<object>)o["currencies"])
            {
                var row = (IDictionary<string, object>)rowValue;
                var totals = new CurrencyTotals
                {
                    Currency = JsonReader.Text(row, "currency"),
                    Outcomes = new Dictionary<string, OutcomeTotal>(),
                };
                foreach (var pair in row)
                {
                    var t = pair.Value as IDictionary<string, object>;
                    if (t != null)
                        totals.Outcomes[pair.Key] = new OutcomeTotal
                        {
                            Count = JsonReader.Number(t, "count") ?? 0,
                            Amount = JsonReader.Number(t, "amount") ?? 0,
                        };
                }
                report.Currencies.Add(totals);
            }
            foreach (object item in (IList<object>)o["items"])
                report.Items.Add(HistoryRecord.From(item));
            return report;
        }
    }
}
