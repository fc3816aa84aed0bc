//! The proxy a client uses: the `proxy` configuration key, or when it is absent the
//! environment's `https_proxy`, `http_proxy`, `all_proxy` and `no_proxy`, read as curl reads
//! them: the lower-case name first, then the upper-case one (except `HTTP_PROXY`, which curl
//! ignores); the scheme's own variable before `all_proxy`; a `no_proxy` entry matches the host
//! itself and its subdomains (a leading `.` or `*.` changes nothing), `*` matches every host,
//! and an IP address entry with a `/bits` suffix matches that network. `"proxy": "none"` turns
//! proxies off, the environment's included.

use std::net::IpAddr;

/// Where a client's proxy comes from, for logs and the health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyChoice {
    /// The proxy URL (credentials included, when it has them); `None`: direct connections.
    pub url: Option<String>,
    /// `proxy` or the environment variable it came from, or why there is none.
    pub source: String,
}

impl ProxyChoice {
    /// The proxy URL without its credentials, for messages.
    pub fn display(&self) -> Option<String> {
        self.url.as_deref().map(without_credentials)
    }
}

/// The proxy for requests to `api_url`, given the `proxy` key's value.
pub fn choose(configured: Option<&str>, api_url: &str) -> ProxyChoice {
    choose_with(configured, api_url, |name| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
}

fn choose_with(
    configured: Option<&str>,
    api_url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> ProxyChoice {
    match configured {
        Some("none") => {
            return ProxyChoice {
                url: None,
                source: "\"proxy\": \"none\"".into(),
            }
        }
        Some(p) => {
            return ProxyChoice {
                url: Some(p.to_string()),
                source: "the proxy configuration key".into(),
            }
        }
        None => {}
    }
    let https = api_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let names: &[&str] = if https {
        &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        &["http_proxy", "all_proxy", "ALL_PROXY"]
    };
    let Some((name, value)) = names.iter().find_map(|n| env(n).map(|v| (*n, v))) else {
        return ProxyChoice {
            url: None,
            source: "no proxy variable is set".into(),
        };
    };
    let no_proxy = env("no_proxy").or_else(|| env("NO_PROXY"));
    if let Some(list) = &no_proxy {
        if let Some(host) = host_of(api_url) {
            if let Some(entry) = list.split(',').map(str::trim).find(|e| matches(e, &host)) {
                return ProxyChoice {
                    url: None,
                    source: format!("{} is excluded by no_proxy entry {:?}", host, entry),
                };
            }
        }
    }
    let value = value.trim();
    // As curl does: a proxy without a scheme is an HTTP proxy.
    let url = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{}", value)
    };
    ProxyChoice {
        url: Some(url),
        source: format!("the environment variable {}", name),
    }
}

/// The host of a URL, lower case, without brackets or port.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

/// Whether one `no_proxy` entry covers `host`.
fn matches(entry: &str, host: &str) -> bool {
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    let entry = entry.trim_start_matches('*').trim_start_matches('.');
    let entry = entry.trim_start_matches('[');
    let entry = entry.split(']').next().unwrap_or(entry);
    let entry = entry.to_ascii_lowercase();
    if let Some((net, bits)) = entry.split_once('/') {
        return match (
            net.parse::<IpAddr>(),
            bits.parse::<u32>(),
            host.parse::<IpAddr>(),
        ) {
            (Ok(net), Ok(bits), Ok(ip)) => in_network(ip, net, bits),
            _ => false,
        };
    }
    // A port in the entry (host:port) is ignored, as curl does.
    let entry = match entry.parse::<IpAddr>() {
        Ok(_) => entry.as_str(),
        Err(_) => entry.split(':').next().unwrap_or(&entry),
    };
    host == entry
        || (host.len() > entry.len()
            && host.ends_with(entry)
            && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// `scheme://user:password@host:port/...` without `user:password@`.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        Some(s) => format!("{}://{}", s, rest),
        None => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(vars: &[(&str, &str)], api_url: &str) -> ProxyChoice {
        choose_with(None, api_url, |n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_schemes_own_variable_comes_before_all_proxy_and_lower_case_first() {
        let vars = [
            ("ALL_PROXY", "http://all:1"),
            ("HTTPS_PROXY", "http://upper:2"),
            ("https_proxy", "http://lower:3"),
        ];
        assert_eq!(
            pick(&vars, "https://api.klarna.com").url.as_deref(),
            Some("http://lower:3")
        );
        assert_eq!(
            pick(&vars[..2], "https://api.klarna.com").url.as_deref(),
            Some("http://upper:2")
        );
        assert_eq!(
            pick(&vars[..1], "https://api.klarna.com").url.as_deref(),
            Some("http://all:1")
        );
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_as_curl_does() {
        assert_eq!(
            pick(&[("HTTP_PROXY", "http://p:1")], "http://127.0.0.1:8").url,
            None
        );
        assert_eq!(
            pick(&[("http_proxy", "p:1")], "http://127.0.0.1:8")
                .url
                .as_deref(),
            Some("http://p:1")
        );
        assert_eq!(
            pick(&[("HTTP_PROXY", "http://p:1")], "https://a.b").url,
            None
        );
    }

    #[test]
    fn no_proxy_matches_hosts_domains_networks_and_star() {
        let with =
            |no: &str, url: &str| pick(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)], url).url;
        assert_eq!(with("klarna.com", "https://api.klarna.com"), None);
        assert_eq!(with(".klarna.com", "https://api.klarna.com/x"), None);
        assert_eq!(with("*.klarna.com", "https://klarna.com"), None);
        assert_eq!(with("*", "https://api.klarna.com"), None);
        assert_eq!(with("10.0.0.0/8", "https://10.1.2.3:443"), None);
        assert_eq!(with("localhost:8443", "https://localhost:1"), None);
        assert!(with("arna.com", "https://api.klarna.com").is_some());
        assert!(with("10.0.0.0/8", "https://11.1.2.3").is_some());
        assert!(with("", "https://api.klarna.com").is_some());
        let lower_wins = pick(
            &[
                ("HTTPS_PROXY", "http://p:1"),
                ("no_proxy", "other"),
                ("NO_PROXY", "api.klarna.com"),
            ],
            "https://api.klarna.com",
        );
        assert!(lower_wins.url.is_some());
    }

    #[test]
    fn none_turns_the_environment_off_and_the_key_wins() {
        let env = |_: &str| Some("http://env:1".to_string());
        assert_eq!(choose_with(Some("none"), "https://a.b", env).url, None);
        assert_eq!(
            choose_with(Some("http://key:2"), "https://a.b", env)
                .url
                .as_deref(),
            Some("http://key:2")
        );
    }

    #[test]
    fn credentials_are_cut_for_display() {
        assert_eq!(
            without_credentials("http://user:s3cret@proxy.shop:3128"),
            "http://proxy.shop:3128"
        );
        assert_eq!(without_credentials("proxy:3128"), "proxy:3128");
    }
}
