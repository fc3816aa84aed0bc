using System;

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

        /// <summary>A client from the library's configuration JSON (README "Configuration").</summary>
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
        /// KLARNA_USER_AGENT).</summary>
        public static KlarnaClient FromEnvironment()
        {
            return new KlarnaClient(Open(null));
        }

        private static ClientHandle Open(byte[] config)
        {
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

        /// <summary>Releases the client. Sessions created from it stay usable. Idempotent.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
