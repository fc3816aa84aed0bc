// Exceptions: one class per kpos_result code, all KlarnaException, built from the detail the
// library keeps for the calling thread (the kpos_last_error_* getters).

using System;
using System.Collections.Generic;

namespace KlarnaPos
{
    /// <summary>What to do about a failure (KPOS_ACTION_*).</summary>
    public enum KlarnaAction
    {
        /// <summary>Nothing to do.</summary>
        None = 0,
        /// <summary>Create the request again with appropriate input.</summary>
        FixInput = 1,
        /// <summary>Retry later; the failure is temporary.</summary>
        Retry = 2,
        /// <summary>Do not retry; contact Klarna merchant support (quote the correlation id).</summary>
        ContactSupport = 3,
        /// <summary>Fix the calling code or configuration.</summary>
        FixCaller = 4,
    }

    /// <summary>A failing library call, with everything the library knew about the failure.
    /// Catch a subclass to handle one kind of failure (e.g.
    /// <see cref="KlarnaBadRequestException"/>), or this class for all of them.</summary>
    public class KlarnaException : Exception
    {
        internal const uint InvalidArgumentCode = 1;
        internal const uint TimeoutCode = 30;

        /// <summary>The kpos_result number, e.g. 10.</summary>
        public uint Code { get; private set; }
        /// <summary>The code's name, e.g. "KPOS_E_BAD_REQUEST".</summary>
        public string Name { get; private set; }
        /// <summary>What to do about it.</summary>
        public KlarnaAction Action { get; private set; }
        /// <summary>The HTTP status Klarna answered, when there was one.</summary>
        public int? HttpStatus { get; private set; }
        /// <summary>Klarna's error_code (e.g. "BAD_VALUE", "PERMISSION_DENIED"), when given.</summary>
        public string KlarnaErrorCode { get; private set; }
        /// <summary>The library's whole error detail as JSON (kpos_last_error_json), e.g. for
        /// Klarna's error_messages; null for an error the binding raised itself.</summary>
        public string DetailJson { get; private set; }
        /// <summary>Klarna's correlation id: quote it to Klarna merchant support.</summary>
        public string CorrelationId { get; private set; }
        /// <summary>The offending field path of a refused order or configuration, e.g.
        /// "order_lines[1].total_tax_amount".</summary>
        public string Field { get; private set; }
        /// <summary>With a RateLimited failure: how long Klarna asked this client to wait before
        /// the next request of the same kind; null when it gave no wait.</summary>
        public TimeSpan? RetryAfter { get; private set; }

        /// <summary>For subclasses; the library creates these exceptions itself.</summary>
        protected KlarnaException(uint code, string message) : base(message)
        {
            Code = code;
            Name = Utf8.FromNative(Native.kpos_result_name(code));
            Action = (KlarnaAction)Native.kpos_result_action(code);
        }

        /// <summary>Message, then the correlation id when known.</summary>
        public override string ToString()
        {
            string text = Name + ": " + Message;
            if (!string.IsNullOrEmpty(CorrelationId))
                text += " (correlation_id " + CorrelationId + ")";
            return text + Environment.NewLine + StackTrace;
        }

        /// <summary>The exception for a call on this thread that just returned
        /// <paramref name="code"/>. Must be called right after that call, on the same thread.</summary>
        internal static KlarnaException FromLastError(uint code)
        {
            string fallback = Utf8.FromNative(Native.kpos_result_text(code));
            if (Native.kpos_last_error_code() != code)
                return Create(code, fallback);
            string correlationId = Utf8.FromNative(Native.kpos_last_error_correlation_id());
            string message = BareMessage(code, Utf8.FromNative(Native.kpos_last_error_message()), correlationId);
            KlarnaException e = Create(code, string.IsNullOrEmpty(message) ? fallback : message);
            uint httpStatus = Native.kpos_last_error_http_status();
            e.HttpStatus = httpStatus == 0 ? (int?)null : (int)httpStatus;
            e.KlarnaErrorCode = Utf8.FromNative(Native.kpos_last_error_klarna_code());
            e.CorrelationId = correlationId;
            e.Field = Utf8.FromNative(Native.kpos_last_error_field());
            uint retryAfterMs = Native.kpos_last_error_retry_after_ms();
            e.RetryAfter = retryAfterMs == 0 ? (TimeSpan?)null : TimeSpan.FromMilliseconds(retryAfterMs);
            e.DetailJson = Utf8.FromNative(Native.kpos_last_error_json());
            return e;
        }

        /// <summary>The text of kpos_last_error_message() without its leading "KPOS_E_NAME: " and
        /// trailing " (correlation_id ID)", which the exception keeps apart.</summary>
        internal static string BareMessage(uint code, string message, string correlationId)
        {
            string prefix = Utf8.FromNative(Native.kpos_result_name(code)) + ": ";
            if (message.StartsWith(prefix, StringComparison.Ordinal))
                message = message.Substring(prefix.Length);
            string suffix = " (correlation_id " + correlationId + ")";
            if (!string.IsNullOrEmpty(correlationId) && message.EndsWith(suffix, StringComparison.Ordinal))
                message = message.Substring(0, message.Length - suffix.Length);
            return message;
        }

        /// <summary>An exception the binding raises itself before calling the library (e.g. a NUL
        /// inside a string argument), shaped like the library's own.</summary>
        internal static KlarnaException Local(uint code, string message, string field)
        {
            KlarnaException e = Create(code, message);
            e.Field = field;
            return e;
        }

        /// <summary>Throws the matching exception unless <paramref name="code"/> is KPOS_OK.</summary>
        internal static void Check(uint code)
        {
            if (code != 0)
                throw FromLastError(code);
        }

        internal static KlarnaException Create(uint code, string message)
        {
            switch (code)
            {
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

    /// <summary>KPOS_E_INVALID_ARGUMENT (1): API misuse, a bad configuration (Field names the key),
    /// unreadable JSON. Fix the calling code.</summary>
    public class KlarnaInvalidArgumentException : KlarnaException
    {
        internal KlarnaInvalidArgumentException(string message) : base(1, message) { }
    }

    /// <summary>KPOS_E_BAD_REQUEST (10): the order or request is not acceptable; Field names the
    /// first offending field. Create the request again with appropriate input.</summary>
    public class KlarnaBadRequestException : KlarnaException
    {
        internal KlarnaBadRequestException(string message) : base(10, message) { }
    }

    /// <summary>KPOS_E_PERMISSION_DENIED (11): credentials wrong or not allowed. Do not retry;
    /// contact Klarna merchant support.</summary>
    public class KlarnaPermissionDeniedException : KlarnaException
    {
        internal KlarnaPermissionDeniedException(string message) : base(11, message) { }
    }

    /// <summary>KPOS_E_UNKNOWN (12): Klarna system error. Do not retry the session; contact
    /// Klarna merchant support.</summary>
    public class KlarnaUnknownException : KlarnaException
    {
        internal KlarnaUnknownException(string message) : base(12, message) { }
    }

    /// <summary>KPOS_E_NOT_FOUND (13): the session or order is unknown to Klarna.</summary>
    public class KlarnaNotFoundException : KlarnaException
    {
        internal KlarnaNotFoundException(string message) : base(13, message) { }
    }

    /// <summary>KPOS_E_CONFLICT (14): not allowed in the current state (cancelling a COMPLETED
    /// payment: refund it instead).</summary>
    public class KlarnaConflictException : KlarnaException
    {
        internal KlarnaConflictException(string message) : base(14, message) { }
    }

    /// <summary>KPOS_E_RATE_LIMITED (15): Klarna's rate limit after the library's own backoff.
    /// Retry later.</summary>
    public class KlarnaRateLimitedException : KlarnaException
    {
        internal KlarnaRateLimitedException(string message) : base(15, message) { }
    }

    /// <summary>KPOS_E_TIMEOUT (30): no answer in time, or <see cref="KlarnaSession.Wait"/> ran
    /// out. Retry, or cancel the session.</summary>
    public class KlarnaTimeoutException : KlarnaException
    {
        internal KlarnaTimeoutException(string message) : base(30, message) { }

        /// <summary>The last known status when thrown by <see cref="KlarnaSession.Wait"/>;
        /// null otherwise.</summary>
        public SessionStatus? LastStatus { get; internal set; }
    }

    /// <summary>KPOS_E_NETWORK (31): the connection failed or was reset. Retry.</summary>
    public class KlarnaNetworkException : KlarnaException
    {
        internal KlarnaNetworkException(string message) : base(31, message) { }
    }

    /// <summary>KPOS_E_TLS (32): certificate or handshake failure. Check the CaFile and the clock.</summary>
    public class KlarnaTlsException : KlarnaException
    {
        internal KlarnaTlsException(string message) : base(32, message) { }
    }

    /// <summary>KPOS_E_PROTOCOL (33): the server answered something unparseable or unexpected.</summary>
    public class KlarnaProtocolException : KlarnaException
    {
        internal KlarnaProtocolException(string message) : base(33, message) { }
    }

    /// <summary>KPOS_E_CANCELLED (50): interrupted by <see cref="KlarnaSession.Cancel"/> from
    /// another thread.</summary>
    public class KlarnaCancelledException : KlarnaException
    {
        internal KlarnaCancelledException(string message) : base(50, message) { }
    }

    /// <summary>KPOS_E_INTERNAL (90): a bug in the library (a caught panic). Report it.</summary>
    public class KlarnaInternalException : KlarnaException
    {
        internal KlarnaInternalException(string message) : base(90, message) { }
    }
}
