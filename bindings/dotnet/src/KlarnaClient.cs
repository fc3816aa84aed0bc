using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace KlarnaPos
{
    /// <summary>A Klarna client: configuration, credentials and a keep-alive connection pool.
    /// Thread-safe: create one at start-up and share it between all tills of the process. No
    /// network traffic happens in the constructor.</summary>
    public sealed class KlarnaClient : IDisposable
    {
        private readonly ClientHandle handle;

        /// <summary>A client from a configuration. Throws KlarnaInvalidArgumentException (Field
        /// names the key) for a bad value.</summary>
        public KlarnaClient(KlarnaConfig config)
            : this((config ?? throw new ArgumentNullException("config")).ToJson())
        {
        }

        /// <summary>A client from the library's configuration JSON (keys in docs/configuration.md).</summary>
        public KlarnaClient(string configJson)
        {
            if (configJson == null)
                throw new ArgumentNullException("configJson");
            handle = Open(Utf8.ToNative(configJson, "config"));
        }

        private KlarnaClient(ClientHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>A client configured from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD (and
        /// KLARNA_USER_AGENT, KLARNA_JOURNAL_DIR).</summary>
        public static KlarnaClient FromEnvironment()
        {
            return new KlarnaClient(Open(null));
        }

        private static ClientHandle Open(byte[] config)
        {
            KlarnaLibrary.EnsureCompatible();
            KlarnaLibrary.SyncTraceSource();
            ClientHandle opened;
            uint code = Native.kpos_client_new(config, out opened);
            if (code != 0)
            {
                opened.SetHandleAsInvalid();
                throw KlarnaException.FromLastError(code);
            }
            return opened;
        }

        /// <summary>Validates the order locally (nothing is sent when a field is wrong:
        /// KlarnaBadRequestException with Field), then starts the in-store payment with one request
        /// to Klarna. <paramref name="orderJson"/> is the body of Klarna's POST /payments/v1/sessions.</summary>
        public KlarnaSession CreateSession(string orderJson)
        {
            byte[] order = Utf8.ToNative(orderJson ?? throw new ArgumentNullException("orderJson"), "order");
            SessionHandle session;
            uint code = Native.kpos_session_create(handle, order, out session);
            return KlarnaSession.Opened(code, session);
        }

        /// <summary>Continues a session created earlier (e.g. before a till restart) from its Id and
        /// ResultUrl. No network traffic: call Poll to learn its status.</summary>
        public KlarnaSession ResumeSession(string sessionId, string resultUrl)
        {
            byte[] id = Utf8.ToNative(sessionId ?? throw new ArgumentNullException("sessionId"), "session_id");
            byte[] url = Utf8.ToNative(resultUrl ?? throw new ArgumentNullException("resultUrl"), "result_url");
            SessionHandle session;
            uint code = Native.kpos_session_resume(handle, id, url, out session);
            return KlarnaSession.Opened(code, session);
        }

        // ---- after the sale: Order Management ---------------------------------------------

        /// <summary>Klarna's order as JSON: status (AUTHORIZED, PART_CAPTURED, CAPTURED,
        /// CANCELLED, EXPIRED, CLOSED), order_amount, captured_amount, refunded_amount,
        /// remaining_authorized_amount, order_lines, captures, refunds, ... Throws
        /// KlarnaNotFoundException for an unknown order.</summary>
        public string GetOrder(string orderId)
        {
            IntPtr json;
            KlarnaException.Check(Native.kpos_order_get(handle, OrderIdArgument(orderId), out json));
            return Utf8.TakeOwned(json);
        }

        /// <summary>Captures <paramref name="amount"/> (minor units) of an order and returns
        /// Klarna's capture id. <paramref name="idempotencyKey"/> (1-64 printable ASCII
        /// characters, no spaces) makes a repeated call capture once; null lets the library make
        /// one for its own retries. After a timeout, network, rate-limit or unknown error, call
        /// again with the same key. Throws KlarnaConflictException beyond the remaining
        /// authorization.</summary>
        public string Capture(string orderId, long amount, string reference = null, string idempotencyKey = null)
        {
            return CaptureWithBody(orderId, AmountBody("captured_amount", amount, reference), idempotencyKey);
        }

        /// <summary>Captures with Klarna's capture body as JSON ({"captured_amount",
        /// "description"?, "reference"?, "order_lines"?, ...}), checked before anything is sent
        /// (KlarnaBadRequestException with Field); returns the capture id.</summary>
        public string CaptureWithBody(string orderId, string captureJson, string idempotencyKey = null)
        {
            byte[] body = Utf8.ToNative(captureJson ?? throw new ArgumentNullException("captureJson"), "capture");
            IntPtr id;
            KlarnaException.Check(Native.kpos_order_capture(handle, OrderIdArgument(orderId), body,
                Utf8.ToNative(idempotencyKey, "idempotency_key"), out id));
            return Utf8.TakeOwned(id);
        }

        /// <summary>Refunds <paramref name="amount"/> (minor units) of a captured order and
        /// returns Klarna's refund id; repeated with its <paramref name="idempotencyKey"/>, the
        /// refund is booked once and the same id returned. Throws KlarnaConflictException above
        /// the captured amount (Klarna's REFUND_NOT_ALLOWED).</summary>
        public string Refund(string orderId, long amount, string reference = null, string idempotencyKey = null)
        {
            return RefundWithBody(orderId, AmountBody("refunded_amount", amount, reference), idempotencyKey);
        }

        /// <summary>Refunds with Klarna's refund body as JSON ({"refunded_amount",
        /// "description"?, "reference"?, "order_lines"?, ...}), checked before anything is sent;
        /// returns the refund id. A journal record's body is repeated this way.</summary>
        public string RefundWithBody(string orderId, string refundJson, string idempotencyKey = null)
        {
            byte[] body = Utf8.ToNative(refundJson ?? throw new ArgumentNullException("refundJson"), "refund");
            IntPtr id;
            KlarnaException.Check(Native.kpos_order_refund(handle, OrderIdArgument(orderId), body,
                Utf8.ToNative(idempotencyKey, "idempotency_key"), out id));
            return Utf8.TakeOwned(id);
        }

        /// <summary>Cancels an order before anything was captured (a void). Throws
        /// KlarnaConflictException once something was captured: refund instead.</summary>
        public void CancelOrder(string orderId, string idempotencyKey = null)
        {
            KlarnaException.Check(Native.kpos_order_cancel(handle, OrderIdArgument(orderId),
                Utf8.ToNative(idempotencyKey, "idempotency_key")));
        }

        /// <summary>Releases the part of the authorization that will not be captured. Throws
        /// KlarnaConflictException when Klarna does not allow it (e.g. after a cancel).</summary>
        public void ReleaseRemainingAuthorization(string orderId, string idempotencyKey = null)
        {
            KlarnaException.Check(Native.kpos_order_release_remaining_authorization(handle, OrderIdArgument(orderId),
                Utf8.ToNative(idempotencyKey, "idempotency_key")));
        }

        // ---- health check ---------------------------------------------------------------------

        /// <summary>Checks that this till reaches Klarna with this configuration, creating
        /// nothing: name resolution, TCP connect, proxy, TLS handshake (verified chain, expiry),
        /// credentials and the clock's offset (kpos_client_check). Returns the JSON report
        /// ({"ok", "code", "code_name", "steps": [{"step", "verdict", "ms", "detail", "code",
        /// "code_name", "action"}, ...], ...}); a failing step does not throw: its code and what
        /// to do are in the report.</summary>
        public string Check()
        {
            uint resultCode;
            return Check(out resultCode);
        }

        /// <summary>As Check(), also giving the result code: 0 (KPOS_OK) when every step passed,
        /// else the first failing step's (KlarnaLibrary.ResultName names it).</summary>
        public string Check(out uint resultCode)
        {
            IntPtr report;
            resultCode = Native.kpos_client_check(handle, out report);
            if (report == IntPtr.Zero)
                KlarnaException.Check(resultCode);
            return Utf8.TakeOwned(report);
        }

        // ---- crash safety and webhooks ------------------------------------------------------

        /// <summary>The open work of the client's journal (configuration JournalDir) as a JSON
        /// array, oldest first, one record per line: sessions to resume
        /// ({"kind":"session","session_id","result_url",...}; session_id null when the create was
        /// never answered) and Order Management calls to repeat with their key
        /// ({"kind":"capture"|"refund"|"cancel"|"release","order_id","idempotency_key","body",...}).
        /// Throws KlarnaInvalidArgumentException for a client without a journal.</summary>
        public string JournalPending()
        {
            IntPtr json;
            KlarnaException.Check(Native.kpos_journal_pending(handle, out json));
            return Utf8.TakeOwned(json);
        }

        /// <summary>The store's day for a cash-up (kpos_history_report): the work finished from
        /// <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive), RFC 3339
        /// date-times with an offset ("2026-11-30T00:00:00+01:00"), read from the history in
        /// JournalDir, parsed: counts and sums in minor units per currency and outcome, and the
        /// items. Throws KlarnaInvalidArgumentException (Field "from" or "to") for a bad bound, and
        /// for a client without a journal.</summary>
        public HistoryReport HistoryReport(string from, string to)
        {
            IntPtr json;
            KlarnaException.Check(Native.kpos_history_report(handle,
                Utf8.ToNative(from ?? throw new ArgumentNullException("from"), "from"),
                Utf8.ToNative(to ?? throw new ArgumentNullException("to"), "to"), out json));
            return KlarnaPos.HistoryReport.Parse(Utf8.TakeOwned(json));
        }

        /// <summary>HistoryReport for two instants (their offsets are kept).</summary>
        public HistoryReport HistoryReport(DateTimeOffset from, DateTimeOffset to)
        {
            return HistoryReport(Rfc3339(from), Rfc3339(to));
        }

        private static string Rfc3339(DateTimeOffset t)
        {
            return t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
        }

        /// <summary>"Was this sale paid?" (kpos_history_find): every session and Order Management
        /// record of the history and the journal whose merchant_reference1 or merchant_reference2
        /// is <paramref name="merchantReference"/>, in the order recorded, each with its Outcome ("paid",
        /// "open", "refunded", ...). An empty list means nothing is known here: look the reference
        /// up in Klarna's merchant portal (docs/day.md).</summary>
        public IList<HistoryRecord> HistoryFind(string merchantReference)
        {
            IntPtr json;
            KlarnaException.Check(Native.kpos_history_find(handle,
                Utf8.ToNative(merchantReference ?? throw new ArgumentNullException("merchantReference"), "merchant_reference"),
                out json));
            return HistoryRecord.ParseList(Utf8.TakeOwned(json));
        }

        /// <summary>Verifies a callback Klarna made to the WebhookUrl and merges the status it
        /// reports into its session (a Wait returns at once). Call it from the receiver, on any
        /// thread, for every request to that path, with the request target ("/path?query", the
        /// full URL or the query) and the body as received. Answer 200 when it returns; 403 for
        /// KlarnaPermissionDeniedException (forged or altered: nothing changed); 404 for
        /// KlarnaNotFoundException (no live session of this client has that reference); 400 for
        /// KlarnaBadRequestException (authentic, but not a status payload of that session); 503
        /// for any other KlarnaException (Klarna delivers again). A reported COMPLETED is
        /// confirmed with Klarna first, so this may block for up to RequestTimeoutMs.</summary>
        public WebhookResult VerifyWebhook(string request, byte[] body)
        {
            if (request == null)
                throw new ArgumentNullException("request");
            if (body == null)
                throw new ArgumentNullException("body");
            // Bytes with their lengths, exactly as received: a NUL byte is part of the input.
            byte[] target = Encoding.UTF8.GetBytes(request);
            IntPtr sessionId;
            uint status;
            KlarnaException.Check(Native.kpos_webhook_verify(
                handle, target, new UIntPtr((uint)target.Length), body, new UIntPtr((uint)body.Length), out sessionId, out status));
            return new WebhookResult(Utf8.TakeOwned(sessionId), SessionStatusExtensions.FromNative(status));
        }

        private static byte[] OrderIdArgument(string orderId)
        {
            return Utf8.ToNative(orderId ?? throw new ArgumentNullException("orderId"), "order_id");
        }

        private static string AmountBody(string amountKey, long amount, string reference)
        {
            string body = "{\"" + amountKey + "\":" + amount.ToString(CultureInfo.InvariantCulture);
            if (reference != null)
                body += ",\"reference\":" + Json.Quote(reference);
            return body + "}";
        }

        /// <summary>Releases the client. Sessions created from it stay usable. Idempotent.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>What <see cref="KlarnaClient.VerifyWebhook"/> learned from a verified callback.</summary>
    public sealed class WebhookResult
    {
        internal WebhookResult(string sessionId, SessionStatus status)
        {
            SessionId = sessionId;
            Status = status;
        }

        /// <summary>Klarna's id of the session the callback was about.</summary>
        public string SessionId { get; private set; }

        /// <summary>The session's status after the callback was merged (Completed stays
        /// Completed).</summary>
        public SessionStatus Status { get; private set; }
    }
}
