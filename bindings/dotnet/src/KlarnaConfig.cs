using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace KlarnaPos
{
    /// <summary>The client configuration: each property is one key of the library's configuration
    /// JSON (docs/configuration.md); properties left null take the library's default.</summary>
    public sealed class KlarnaConfig
    {
        /// <summary>api_url, e.g. "https://api.playground.klarna.com" (or set Region and Environment).</summary>
        public string ApiUrl { get; set; }
        /// <summary>region: "eu", "na" or "oc", with Environment instead of ApiUrl.</summary>
        public string Region { get; set; }
        /// <summary>environment: "playground" or "production", with Region.</summary>
        public string Environment { get; set; }
        /// <summary>username: the Klarna API username.</summary>
        public string Username { get; set; }
        /// <summary>password: the Klarna API password; never logged.</summary>
        public string Password { get; set; }
        /// <summary>user_agent: identifies the POS, e.g. "ShopTill/4.2 (store 042)".</summary>
        public string UserAgent { get; set; }
        /// <summary>connect_timeout_ms (default 5000).</summary>
        public int? ConnectTimeoutMs { get; set; }
        /// <summary>request_timeout_ms, the whole request (default 30000).</summary>
        public int? RequestTimeoutMs { get; set; }
        /// <summary>poll_interval_ms, the status polling floor (default 1000).</summary>
        public int? PollIntervalMs { get; set; }
        /// <summary>max_retries, for requests that are safe to repeat (default 2).</summary>
        public int? MaxRetries { get; set; }
        /// <summary>ca_file: a PEM file of extra trusted roots.</summary>
        public string CaFile { get; set; }
        /// <summary>proxy, e.g. "http://proxy.store.lan:3128".</summary>
        public string Proxy { get; set; }
        /// <summary>allow_insecure_http: plain http to a non-loopback host (default false).</summary>
        public bool? AllowInsecureHttp { get; set; }
        /// <summary>webhook_url: the till backend's endpoint for Klarna's status callbacks (https,
        /// or http to loopback); every call to it goes to <see cref="KlarnaClient.VerifyWebhook"/>.</summary>
        public string WebhookUrl { get; set; }
        /// <summary>webhook_poll_interval_ms: how often a session followed by webhook is polled
        /// anyway, the safety net for lost callbacks (default 30000).</summary>
        public int? WebhookPollIntervalMs { get; set; }
        /// <summary>webhook_secret: 32 to 64 random bytes as hex or base64url (e.g. from
        /// "openssl rand -hex 32"), shared by a chain's tills and receivers: callback tokens become
        /// HMAC-SHA256 of their reference, verifiable by any client holding the secret (see
        /// <see cref="KlarnaClient.VerifyWebhook"/>).</summary>
        public string WebhookSecret { get; set; }
        /// <summary>webhook_secret_previous: the secret before a rotation, still accepted; only
        /// with WebhookSecret.</summary>
        public string WebhookSecretPrevious { get; set; }
        /// <summary>journal_dir: the directory of the crash-safe journal (created when missing);
        /// see <see cref="KlarnaClient.JournalPending"/>.</summary>
        public string JournalDir { get; set; }

        /// <summary>The configuration JSON object the library reads.</summary>
        public string ToJson()
        {
            var members = new List<string>();
            Add(members, "api_url", ApiUrl);
            Add(members, "region", Region);
            Add(members, "environment", Environment);
            Add(members, "username", Username);
            Add(members, "password", Password);
            Add(members, "user_agent", UserAgent);
            Add(members, "connect_timeout_ms", ConnectTimeoutMs);
            Add(members, "request_timeout_ms", RequestTimeoutMs);
            Add(members, "poll_interval_ms", PollIntervalMs);
            Add(members, "max_retries", MaxRetries);
            Add(members, "ca_file", CaFile);
            Add(members, "proxy", Proxy);
            if (AllowInsecureHttp.HasValue)
                members.Add("\"allow_insecure_http\":" + (AllowInsecureHttp.Value ? "true" : "false"));
            Add(members, "webhook_url", WebhookUrl);
            Add(members, "webhook_poll_interval_ms", WebhookPollIntervalMs);
            Add(members, "webhook_secret", WebhookSecret);
            Add(members, "webhook_secret_previous", WebhookSecretPrevious);
            Add(members, "journal_dir", JournalDir);
            var json = new StringBuilder("{");
            json.Append(string.Join(",", members.ToArray()));
            return json.Append('}').ToString();
        }

        private static void Add(List<string> members, string key, string value)
        {
            if (value != null)
                members.Add(Json.Quote(key) + ":" + Json.Quote(value));
        }

        private static void Add(List<string> members, string key, int? value)
        {
            if (value.HasValue)
                members.Add(Json.Quote(key) + ":" + value.Value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
