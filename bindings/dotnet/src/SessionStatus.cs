namespace KlarnaPos
{
    /// <summary>Distribution status of an in-store payment, with the numbers of the C header's
    /// KPOS_STATUS_*.</summary>
    public enum SessionStatus : uint
    {
        /// <summary>Created locally; no status read yet.</summary>
        Created = 0,
        /// <summary>Klarna is preparing the distribution (older API versions).</summary>
        Waiting = 1,
        /// <summary>The QR code / payment link is ready: show it.</summary>
        Distributed = 2,
        /// <summary>The customer opened it: show "payment in progress".</summary>
        Accessed = 3,
        /// <summary>Payment done, order placed: <see cref="KlarnaSession.OrderId"/> is set. Terminal.</summary>
        Completed = 4,
        /// <summary>Cancelled by the till or the customer. Terminal.</summary>
        Canceled = 5,
        /// <summary>Klarna could not complete it: <see cref="KlarnaSession.Failure"/> tells why. Terminal.</summary>
        Failed = 6,
        /// <summary>The session ran out of time. Terminal.</summary>
        Expired = 7,
        /// <summary>A status this version does not know (Klarna added one). Not terminal, not an
        /// error: keep waiting.</summary>
        Unknown = 99,
    }

    /// <summary>Helpers for <see cref="SessionStatus"/>.</summary>
    public static class SessionStatusExtensions
    {
        /// <summary>True for Completed, Canceled, Failed and Expired: the session never moves again.</summary>
        public static bool IsTerminal(this SessionStatus status)
        {
            return Native.kpos_status_is_terminal((uint)status) != 0;
        }

        /// <summary>The library's name of the status, e.g. "COMPLETED".</summary>
        public static string ToNativeName(this SessionStatus status)
        {
            return Utf8.FromNative(Native.kpos_status_name((uint)status));
        }

        /// <summary>The English text Klarna's in-store best practices recommend showing the
        /// cashier: Distributed "Scan the QR code with your phone", Accessed "Payment in progress",
        /// Completed "Payment is done", Failed "Something went wrong" (show the session id next to
        /// it, for Klarna's support), ...; Unknown "Checking the payment status...".</summary>
        public static string DisplayText(this SessionStatus status)
        {
            return Utf8.FromNative(Native.kpos_status_display_text((uint)status));
        }

        /// <summary>The cashier's text in <paramref name="language"/>, a BCP 47 tag such as "sv",
        /// "sv-SE", "nb-NO" or "de-AT" (case-insensitive): the region's text, else the language's,
        /// else English (also for null). Fits two lines of 20 characters.</summary>
        public static string DisplayText(this SessionStatus status, string language)
        {
            return Utf8.FromNative(Native.kpos_status_display_text_for((uint)status, Tag(language)));
        }

        /// <summary>The customer's text in <paramref name="language"/> (as for DisplayText):
        /// Distributed "Scan the QR code with your phone camera", Accessed "Confirm in the Klarna
        /// app", Completed "Payment approved. Thank you!", ... Fits two lines of 32 characters.</summary>
        public static string CustomerText(this SessionStatus status, string language = null)
        {
            return Utf8.FromNative(Native.kpos_status_customer_text_for((uint)status, Tag(language)));
        }

        private static byte[] Tag(string language)
        {
            // A tag the library cannot read names no language: English.
            if (language == null || language.IndexOf('\0') >= 0)
                return null;
            return System.Text.Encoding.UTF8.GetBytes(language + "\0");
        }

        /// <summary>A number from the library as a status; a number a newer library added is Unknown.</summary>
        internal static SessionStatus FromNative(uint value)
        {
            switch (value)
            {
                case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 99:
                    return (SessionStatus)value;
                default:
                    return SessionStatus.Unknown;
            }
        }
    }
}
