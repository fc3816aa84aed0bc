using System;

namespace KlarnaPos
{
    /// <summary>One in-store payment, from <see cref="KlarnaClient.CreateSession"/> or
    /// <see cref="KlarnaClient.ResumeSession"/>.
    /// Use it from one thread at a time, except <see cref="Cancel"/>, which any thread may call at
    /// any moment (it wakes a <see cref="Wait"/> in progress). Dispose releases it without
    /// cancelling the payment at Klarna; afterwards every member but Id and ResultUrl throws
    /// ObjectDisposedException.</summary>
    public sealed partial class KlarnaSession : IDisposable
    {
        private readonly SessionHandle handle;

        private KlarnaSession(SessionHandle handle)
        {
            this.handle = handle;
            Id = Utf8.FromNative(Native.kpos_session_id(handle)) ?? "";
            ResultUrl = Utf8.FromNative(Native.kpos_session_result_url(handle)) ?? "";
        }

        internal static KlarnaSession Opened(uint code, SessionHandle handle)
        {
            if (code != 0)
            {
                handle.SetHandleAsInvalid();
                throw KlarnaException.FromLastError(code);
            }
            return new KlarnaSession(handle);
        }

        /// <summary>Klarna's session id.</summary>
        public string Id { get; private set; }

        /// <summary>The status URL; keep it with Id to resume after a restart.</summary>
        public string ResultUrl { get; private set; }

        /// <summary>The last known status, without network traffic.</summary>
        public SessionStatus Status
        {
            get { return SessionStatusExtensions.FromNative(Native.kpos_session_status(handle)); }
        }

        /// <summary>The QR code image URL to show; null until the session is distributed.</summary>
        public string QrUrl
        {
            get { return Utf8.FromNative(Native.kpos_session_qr_url(handle)); }
        }

        /// <summary>The payment link for the customer's phone; null if Klarna gave none.</summary>
        public string PaymentLink
        {
            get { return Utf8.FromNative(Native.kpos_session_payment_link(handle)); }
        }

        /// <summary>Klarna's order id once the payment completed (for capture, refund, cancel).</summary>
        public string OrderId
        {
            get { return Utf8.FromNative(Native.kpos_session_order_id(handle)); }
        }

        /// <summary>Why a Failed session failed (KlarnaBadRequestException,
        /// KlarnaPermissionDeniedException or KlarnaUnknownException, returned, not thrown); null
        /// when it has not failed.</summary>
        public KlarnaException Failure
        {
            get
            {
                uint code = Native.kpos_session_failure(handle);
                return code == 0 ? null : KlarnaException.FromLastError(code);
            }
        }

        /// <summary>Reads the status once from Klarna.</summary>
        public SessionStatus Poll()
        {
            uint status;
            KlarnaException.Check(Native.kpos_session_poll(handle, out status));
            return SessionStatusExtensions.FromNative(status);
        }

        /// <summary>Blocks until the status differs from the one last returned by Poll or Wait, or
        /// is terminal, and returns it. Throws KlarnaTimeoutException when
        /// <paramref name="timeout"/> passes (LastStatus is the last known status), and
        /// KlarnaCancelledException when Cancel is called meanwhile from another thread (unless
        /// Klarna reports the payment completed, which wins).</summary>
        public SessionStatus Wait(TimeSpan timeout)
        {
            if (timeout < TimeSpan.Zero)
                throw new ArgumentOutOfRangeException("timeout", "the timeout must not be negative");
            double ms = Math.Ceiling(timeout.TotalMilliseconds);
            uint millis = ms >= uint.MaxValue ? uint.MaxValue : (uint)ms;
            uint status = (uint)SessionStatus.Unknown;
            uint code = Native.kpos_session_wait(handle, millis, ref status);
            if (code == KlarnaException.TimeoutCode)
            {
                KlarnaException e = KlarnaException.FromLastError(code);
                var timedOut = e as KlarnaTimeoutException;
                if (timedOut != null)
                    timedOut.LastStatus = SessionStatusExtensions.FromNative(status);
                throw e;
            }
            KlarnaException.Check(code);
            return SessionStatusExtensions.FromNative(status);
        }

        /// <summary>Cancels the payment at Klarna and wakes a Wait on another thread. Callable from
        /// any thread at any moment; idempotent. Throws KlarnaConflictException once the payment
        /// completed (refund it instead). Ends the status events after their final call (Canceled,
        /// or Completed).</summary>
        public void Cancel()
        {
            uint code = Native.kpos_session_cancel(handle);
            AfterCancel();
            KlarnaException.Check(code);
        }

        /// <summary>The receipt lines of a COMPLETED payment (kpos_session_receipt_text) in
        /// <paramref name="language"/> (a BCP 47 tag; English when null or unknown), separated by
        /// "\n", each at most 42 characters. Throws KlarnaConflictException when the session is
        /// not COMPLETED.</summary>
        public string ReceiptText(string language = null)
        {
            IntPtr text;
            KlarnaException.Check(Native.kpos_session_receipt_text(handle, Utf8.ToNative(language, "language"), out text));
            return Utf8.TakeOwned(text);
        }

        /// <summary>Releases the native session (does not cancel the payment at Klarna). Idempotent.</summary>
        public void Dispose()
        {
            handle.Dispose();
            EndWatching();
        }

        /// <summary>"KlarnaSession id STATUS".</summary>
        public override string ToString()
        {
            return "KlarnaSession " + Id + (handle.IsClosed ? " (disposed)" : " " + Status);
        }
    }
}
