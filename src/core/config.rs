//! Client configuration: parsed from the JSON a till passes to `kpos_client_new`, or from the
//! environment. Unknown keys are refused so a typo never silently falls back to a default.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};
use zeroize::Zeroize;

use super::error::{Error, Result};
use super::field;
use super::trust::TrustStore;
use super::url;
use super::webhook::WebhookKeys;

/// A secret string (password, Authorization header) that is zeroed in memory when dropped and
/// never printed by `Debug`.
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        #[cfg(test)]
        let len = self.0.len();
        // Zeroes every byte of the buffer, spare capacity included, as a store the compiler
        // cannot drop; the String is then empty and freed right after.
        self.0.zeroize();
        #[cfg(test)]
        wipe_log::record(self.0.as_ptr(), self.0.capacity(), len);
    }
}

/// Unit tests see which secrets were wiped on their thread: the length of each, and whether
/// its bytes were all zero when `drop` finished.
#[cfg(test)]
pub mod wipe_log {
    use std::cell::RefCell;

    thread_local! {
        static WIPED: RefCell<Vec<(usize, bool)>> = const { RefCell::new(Vec::new()) };
    }

    /// Records a wiped secret that held `len` bytes, reading them from its buffer (`buffer`,
    /// `capacity` bytes).
    pub(super) fn record(buffer: *const u8, capacity: usize, len: usize) {
        assert!(len <= capacity);
        // SAFETY: the buffer is still allocated (the String is freed after `drop` returns) and
        // all its `capacity` bytes are initialized: zeroize wrote every one of them.
        let bytes = unsafe { std::slice::from_raw_parts(buffer, len) };
        let zeroed = bytes.iter().all(|b| *b == 0);
        WIPED.with(|w| w.borrow_mut().push((len, zeroed)));
    }

    /// Takes the records made so far on this thread.
    pub fn take() -> Vec<(usize, bool)> {
        WIPED.with(|w| std::mem::take(&mut *w.borrow_mut()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug)]
pub struct Config {
    /// Base URL without trailing slash, e.g. `https://api.playground.klarna.com`.
    pub api_url: String,
    pub username: String,
    pub password: Secret,
    /// The POS identification; the library appends `klarna-pos/<version>`.
    pub user_agent: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub poll_interval: Duration,
    pub max_retries: u32,
    /// Least time between two requests that are safe to repeat (status reads, cancels, Order
    /// Management calls) of this client, from `max_safe_requests_per_second`; zero: no pacing.
    pub safe_request_spacing: Duration,
    pub ca_file: Option<PathBuf>,
    /// Which roots verify certificates besides `ca_file` (see `trust`).
    pub trust_store: TrustStore,
    /// The `proxy` key: a proxy URL, or `none`; absent: the environment's (see `proxy`).
    pub proxy: Option<String>,
    pub allow_insecure_http: bool,
    /// Base URL of the till backend's webhook receiver; each session's callback URL is this plus
    /// its own reference and secret token.
    pub webhook_url: Option<String>,
    /// How often `wait` still polls a session whose status arrives by webhook: the safety net
    /// for lost callbacks.
    pub webhook_poll_interval: Duration,
    /// `webhook_secret` (and `webhook_secret_previous`): callback tokens are MACs of their
    /// reference, verifiable by any client holding the secret (see `webhook`).
    pub webhook_keys: Option<WebhookKeys>,
    /// Directory of the crash-safe journal of in-flight work (see `journal`); none when absent.
    pub journal_dir: Option<PathBuf>,
}

pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1_000;
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Klarna limits "other calls" (status reads, cancels, Order Management) to 50 per second per
/// merchant on the playground (200 in production); the library's default stays below that,
/// however many sessions of the client wait at once. Creates are not paced: a till starts them.
pub const DEFAULT_MAX_SAFE_REQUESTS_PER_SECOND: u64 = 40;
pub const DEFAULT_WEBHOOK_POLL_INTERVAL_MS: u64 = 30_000;

const KEYS: &[&str] = &[
    "api_url",
    "region",
    "environment",
    "username",
    "password",
    "user_agent",
    "connect_timeout_ms",
    "request_timeout_ms",
    "poll_interval_ms",
    "max_retries",
    "max_safe_requests_per_second",
    "ca_file",
    "trust_store",
    "proxy",
    "journal_dir",
    "allow_insecure_http",
    "webhook_url",
    "webhook_poll_interval_ms",
    "webhook_secret",
    "webhook_secret_previous",
];

/// Configuration keys whose values are secrets: wiped from the parsed JSON after use.
const SECRET_KEYS: &[&str] = &["password", "webhook_secret", "webhook_secret_previous"];

/// Wipes the secret values of a parsed configuration (the Secrets made from them are wiped
/// when dropped).
fn wipe_secrets(map: &mut Map<String, Value>) {
    for key in SECRET_KEYS {
        if let Some(Value::String(p)) = map.get_mut(*key) {
            p.zeroize();
        }
    }
}

impl Config {
    /// Parses the configuration JSON of `kpos_client_new`.
    pub fn from_json(text: &str) -> Result<Config> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_argument(format!("config is not valid JSON: {}", e)))?;
        let Value::Object(mut map) = value else {
            return Err(Error::invalid_argument("config must be a JSON object"));
        };
        let config = Config::from_map(&map);
        // The parsed copies of the secrets are wiped too, not only the Secrets made from them.
        wipe_secrets(&mut map);
        config
    }

    /// Reads `KLARNA_API_URL`, `KLARNA_USERNAME`, `KLARNA_PASSWORD` (and optionally
    /// `KLARNA_USER_AGENT`, `KLARNA_JOURNAL_DIR`, `KLARNA_WEBHOOK_SECRET` and
    /// `KLARNA_WEBHOOK_SECRET_PREVIOUS`) from the environment, over the JSON file
    /// named by `KLARNA_POS_CONFIG` when that is set (see `config_file`).
    pub fn from_env() -> Result<Config> {
        if let Some(path) = super::config_file::path_from_env()? {
            return super::config_file::load(&path);
        }
        Config::from_env_over(Map::new(), false)
    }

    /// The environment's `KLARNA_*` variables over `map` (a configuration file's when
    /// `from_file`, which may then give the endpoint and username itself).
    pub(crate) fn from_env_over(mut map: Map<String, Value>, from_file: bool) -> Result<Config> {
        for (var, key) in [
            ("KLARNA_API_URL", "api_url"),
            ("KLARNA_USERNAME", "username"),
            ("KLARNA_PASSWORD", "password"),
            ("KLARNA_USER_AGENT", "user_agent"),
            ("KLARNA_JOURNAL_DIR", "journal_dir"),
            ("KLARNA_WEBHOOK_SECRET", "webhook_secret"),
            ("KLARNA_WEBHOOK_SECRET_PREVIOUS", "webhook_secret_previous"),
        ] {
            match std::env::var(var) {
                Ok(v) => {
                    if key == "api_url" {
                        // The variable's endpoint replaces the file's, however it named it.
                        map.remove("region");
                        map.remove("environment");
                    }
                    map.insert(key.into(), Value::String(v));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Error::invalid_argument(format!(
                        "{} is not valid UTF-8",
                        var
                    )))
                }
                Err(std::env::VarError::NotPresent) => {}
            }
        }
        for (var, key) in [
            ("KLARNA_API_URL", "api_url"),
            ("KLARNA_USERNAME", "username"),
        ] {
            if !from_file && !map.contains_key(key) {
                return Err(Error::bad_config(
                    key,
                    format!("environment variable {} is not set", var),
                ));
            }
        }
        let config = Config::from_map(&map);
        wipe_secrets(&mut map);
        config
    }

    pub(crate) fn from_map(map: &Map<String, Value>) -> Result<Config> {
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::bad_config(k.as_str(), "unknown configuration key"));
        }
        let api_url = match (opt_str(map, "api_url")?, opt_str(map, "region")?) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_config(
                    "region",
                    "give either api_url or region/environment, not both",
                ))
            }
            (Some(u), None) => {
                if map.contains_key("environment") {
                    return Err(Error::bad_config(
                        "environment",
                        "environment goes with region, not with api_url",
                    ));
                }
                u.trim_end_matches('/').to_string()
            }
            (None, region) => region_url(region, opt_str(map, "environment")?)?,
        };
        let allow_insecure_http = match map.get("allow_insecure_http") {
            None => false,
            Some(v) => field::boolean(v).map_err(|f| f.in_config("allow_insecure_http"))?,
        };
        url::require_secure(&api_url, allow_insecure_http)
            .map_err(|m| Error::bad_config("api_url", m))?;
        if api_url.contains(['?', '#']) {
            return Err(Error::bad_config(
                "api_url",
                "must not contain a query or fragment",
            ));
        }

        let username = opt_str(map, "username")?.unwrap_or_default().to_string();
        if username.is_empty() {
            return Err(Error::bad_config("username", "is required"));
        }
        if username.contains(':') {
            // RFC 7617: the user-id of Basic credentials cannot contain a colon.
            return Err(Error::bad_config(
                "username",
                "must not contain ':' (HTTP Basic credentials end the user name at the first ':')",
            ));
        }
        let password = Secret::new(opt_str(map, "password")?.unwrap_or_default().to_string());
        let user_agent = match opt_str(map, "user_agent")? {
            Some(ua) if ua.chars().any(|c| c.is_control()) => {
                return Err(Error::bad_config(
                    "user_agent",
                    "must not contain control characters",
                ))
            }
            Some(ua) => Some(ua.trim().to_string()).filter(|s| !s.is_empty()),
            None => None,
        };
        let connect_timeout = millis(
            map,
            "connect_timeout_ms",
            DEFAULT_CONNECT_TIMEOUT_MS,
            1,
            120_000,
        )?;
        let request_timeout = millis(
            map,
            "request_timeout_ms",
            DEFAULT_REQUEST_TIMEOUT_MS,
            1,
            600_000,
        )?;
        let poll_interval = millis(
            map,
            "poll_interval_ms",
            DEFAULT_POLL_INTERVAL_MS,
            100,
            60_000,
        )?;
        let max_retries = int(map, "max_retries", DEFAULT_MAX_RETRIES as u64, 0, 10)? as u32;
        let safe_request_spacing = match int(
            map,
            "max_safe_requests_per_second",
            DEFAULT_MAX_SAFE_REQUESTS_PER_SECOND,
            0,
            10_000,
        )? {
            0 => Duration::ZERO,
            rate => Duration::from_micros(1_000_000 / rate),
        };
        let ca_file = opt_str(map, "ca_file")?.map(PathBuf::from);
        let trust_store = match opt_str(map, "trust_store")? {
            None => TrustStore::default(),
            Some(t) => TrustStore::parse(t).ok_or_else(|| {
                Error::bad_config("trust_store", "must be system+mozilla, system or mozilla")
            })?,
        };
        let proxy = opt_str(map, "proxy")?.map(str::to_string);
        if let Some(p) = proxy.as_deref().filter(|p| *p != "none") {
            url::parse(p).map_err(|m| Error::bad_config("proxy", m))?;
        }
        let webhook_url = match opt_str(map, "webhook_url")? {
            Some(u) => {
                url::require_secure(u, allow_insecure_http)
                    .and_then(|()| url::check_base_url(u))
                    .map_err(|m| Error::bad_config("webhook_url", m))?;
                Some(u.to_string())
            }
            None => None,
        };
        let webhook_poll_interval = millis(
            map,
            "webhook_poll_interval_ms",
            DEFAULT_WEBHOOK_POLL_INTERVAL_MS,
            1_000,
            3_600_000,
        )?;
        let webhook_keys = match (
            opt_str(map, "webhook_secret")?,
            opt_str(map, "webhook_secret_previous")?,
        ) {
            (Some(current), previous) => Some(WebhookKeys::parse(
                current,
                previous,
                "webhook_secret",
                "webhook_secret_previous",
            )?),
            (None, Some(_)) => {
                return Err(Error::bad_config(
                    "webhook_secret_previous",
                    "goes with webhook_secret (the secret now in use); give both during a \
                     rotation",
                ))
            }
            (None, None) => None,
        };
        let journal_dir = match opt_str(map, "journal_dir")? {
            Some(d) if d.trim().is_empty() => {
                return Err(Error::bad_config(
                    "journal_dir",
                    "must name a directory (omit it to run without a journal)",
                ))
            }
            Some(d) => Some(PathBuf::from(d)),
            None => None,
        };
        Ok(Config {
            api_url,
            username,
            password,
            user_agent,
            connect_timeout,
            request_timeout,
            poll_interval,
            max_retries,
            safe_request_spacing,
            ca_file,
            trust_store,
            proxy,
            allow_insecure_http,
            webhook_url,
            webhook_poll_interval,
            webhook_keys,
            journal_dir,
        })
    }
}

fn region_url(region: Option<&str>, environment: Option<&str>) -> Result<String> {
    let Some(region) = region else {
        return Err(Error::bad_config(
            "api_url",
            "is required (or region + environment)",
        ));
    };
    let host = match region.to_ascii_lowercase().as_str() {
        "eu" => "api",
        "na" => "api-na",
        "oc" => "api-oc",
        _ => return Err(Error::bad_config("region", "must be one of eu, na, oc")),
    };
    let env = match environment.map(str::to_ascii_lowercase).as_deref() {
        Some("playground") => ".playground",
        Some("production") => "",
        _ => {
            return Err(Error::bad_config(
                "environment",
                "must be playground or production when region is given",
            ))
        }
    };
    Ok(format!("https://{}{}.klarna.com", host, env))
}

fn opt_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match field::optional(map, key) {
        None => Ok(None),
        Some(v) => field::string(v, "a string")
            .map(|_| v.as_str())
            .map_err(|f| f.in_config(key)),
    }
}

fn int(map: &Map<String, Value>, key: &str, default: u64, min: u64, max: u64) -> Result<u64> {
    let (lo, hi) = (
        min.min(i64::MAX as u64) as i64,
        max.min(i64::MAX as u64) as i64,
    );
    match field::optional(map, key) {
        None => Ok(default),
        Some(v) => field::integer(v, lo, hi, "an integer")
            .map(|i| i as u64)
            .map_err(|f| f.in_config(key)),
    }
}

fn millis(
    map: &Map<String, Value>,
    key: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration> {
    int(map, key, default, min, max).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Code;

    fn field_of(json: &str) -> Option<String> {
        Config::from_json(json).err().and_then(|e| e.field)
    }

    #[test]
    fn minimal_config_gets_finite_defaults() {
        let c = Config::from_json(
            r#"{"api_url":"https://api.playground.klarna.com/","username":"u","password":"p"}"#,
        )
        .unwrap();
        assert_eq!(c.api_url, "https://api.playground.klarna.com");
        assert_eq!(c.connect_timeout, Duration::from_millis(5000));
        assert_eq!(c.request_timeout, Duration::from_millis(30000));
        assert_eq!(c.max_retries, 2);
    }

    #[test]
    fn region_and_environment_give_klarna_hosts() {
        let c = Config::from_json(
            r#"{"region":"na","environment":"playground","username":"u","password":"p"}"#,
        )
        .unwrap();
        assert_eq!(c.api_url, "https://api-na.playground.klarna.com");
        let c = Config::from_json(
            r#"{"region":"oc","environment":"production","username":"u","password":"p"}"#,
        )
        .unwrap();
        assert_eq!(c.api_url, "https://api-oc.klarna.com");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        assert_eq!(
            field_of(r#"{"api_url":"https://a.b","username":"u","pasword":"p"}"#).as_deref(),
            Some("pasword")
        );
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
        let e =
            Config::from_json(r#"{"api_url":"http://api.example","username":"u"}"#).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert_eq!(e.field.as_deref(), Some("api_url"));
        assert!(Config::from_json(
            r#"{"api_url":"http://api.example","username":"u","allow_insecure_http":true}"#
        )
        .is_ok());
        assert!(Config::from_json(r#"{"api_url":"http://127.0.0.1:9","username":"u"}"#).is_ok());
    }

    #[test]
    fn out_of_range_timeouts_are_refused() {
        assert_eq!(
            field_of(r#"{"api_url":"https://a.b","username":"u","request_timeout_ms":0}"#)
                .as_deref(),
            Some("request_timeout_ms")
        );
        assert_eq!(
            field_of(r#"{"api_url":"https://a.b","username":"u","poll_interval_ms":"fast"}"#)
                .as_deref(),
            Some("poll_interval_ms")
        );
    }

    #[test]
    fn webhook_url_must_be_https_or_loopback_and_leave_the_librarys_parameters_alone() {
        let base = r#"{"api_url":"https://a.b","username":"u","webhook_url":"#;
        let field = |url: &str| field_of(&format!("{base}\"{url}\"}}"));
        assert_eq!(
            field("http://till.example/hook").as_deref(),
            Some("webhook_url")
        );
        assert_eq!(
            field("https://till.example/hook?kpos_ref=1").as_deref(),
            Some("webhook_url")
        );
        assert_eq!(field("https://till.example/hook?store=42"), None);
        assert_eq!(field("http://127.0.0.1:8443/hook"), None);
    }

    #[test]
    fn a_dropped_secret_is_zeroed_before_its_memory_is_released() {
        wipe_log::take();
        drop(Secret::new("hunter2".into()));
        assert_eq!(wipe_log::take(), [(7, true)]);
    }

    #[test]
    fn secret_debug_output_hides_the_password() {
        let c =
            Config::from_json(r#"{"api_url":"https://a.b","username":"u","password":"hunter2"}"#)
                .unwrap();
        assert!(!format!("{:?}", c).contains("hunter2"));
        let secret = "c0ffee".repeat(11);
        let c = Config::from_json(&format!(
            r#"{{"api_url":"https://a.b","username":"u","webhook_secret":"{secret}"}}"#
        ))
        .unwrap();
        assert!(c.webhook_keys.is_some());
        assert!(!format!("{:?}", c).contains("c0ffee"));
    }

    #[test]
    fn webhook_secrets_are_checked_and_the_previous_one_needs_the_current() {
        let base = r#""api_url":"https://a.b","username":"u""#;
        let good = "ab".repeat(32);
        let field = |extra: &str| field_of(&format!("{{{base},{extra}}}"));
        assert_eq!(field(&format!(r#""webhook_secret":"{good}""#)), None);
        assert_eq!(
            field(&format!(
                r#""webhook_secret":"{good}","webhook_secret_previous":"{good}""#
            )),
            None
        );
        assert_eq!(
            field(r#""webhook_secret":"abcd""#).as_deref(),
            Some("webhook_secret")
        );
        assert_eq!(
            field(r#""webhook_secret":42"#).as_deref(),
            Some("webhook_secret")
        );
        assert_eq!(
            field(&format!(
                r#""webhook_secret":"{good}","webhook_secret_previous":"~{good}""#
            ))
            .as_deref(),
            Some("webhook_secret_previous")
        );
        assert_eq!(
            field(&format!(r#""webhook_secret_previous":"{good}""#)).as_deref(),
            Some("webhook_secret_previous")
        );
        assert_eq!(
            field(r#""webhook_secret":null"#),
            None,
            "null takes the default: no secret"
        );
    }
}
