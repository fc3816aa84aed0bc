//! Fault injection: rules that make the next matching requests fail in the ways a real
//! network and a real Klarna can fail, so that clients' error handling can be tested
//! without restarting the simulator.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::http::Response;
use crate::routes::klarna_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Status500,
    Status502,
    Status503,
    RateLimit,
    Reset,
    Stall,
    MalformedJson,
    Html401,
    Html500,
    SlowDrip,
    /// Klarna's 400 `BAD_VALUE` for `field`, for a request the client thought valid.
    BadValue,
    /// Process the request, then close the connection without answering (after `hold_ms`).
    LoseAnswer,
    /// Answer normally, keep-alive and all, then close the connection: a server whose idle
    /// timer fired, leaving the client a pooled connection that is already closed.
    CloseAfterAnswer,
}

const MODES: [(&str, Mode); 13] = [
    ("status_500", Mode::Status500),
    ("status_502", Mode::Status502),
    ("status_503", Mode::Status503),
    ("rate_limit", Mode::RateLimit),
    ("reset", Mode::Reset),
    ("stall", Mode::Stall),
    ("malformed_json", Mode::MalformedJson),
    ("html_401", Mode::Html401),
    ("html_500", Mode::Html500),
    ("slow_drip", Mode::SlowDrip),
    ("bad_value", Mode::BadValue),
    ("lose_answer", Mode::LoseAnswer),
    ("close_after_answer", Mode::CloseAfterAnswer),
];

impl Mode {
    pub fn name(self) -> &'static str {
        MODES
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub mode: Mode,
    /// Matching requests still to fault; the rule is dropped when it reaches zero.
    pub remaining: u64,
    pub path: Option<String>,
    pub method: Option<String>,
    pub retry_after: u64,
    pub stall_ms: u64,
    pub drip_ms: u64,
    /// How long `lose_answer` keeps the connection open, silent, after acting.
    pub hold_ms: u64,
    /// The field a `bad_value` answer names.
    pub field: String,
    /// Chance (0..1) that a matching request is faulted; `None` faults every matching request.
    /// Lets a stress test mix fault modes at a steady rate.
    pub probability: Option<f64>,
}

impl Rule {
    pub fn from_json(v: &Value) -> Result<Rule, String> {
        let obj = v.as_object().ok_or("body must be a JSON object")?;
        const KNOWN: [&str; 10] = [
            "field",
            "hold_ms",
            "probability",
            "mode",
            "count",
            "path",
            "method",
            "retry_after",
            "stall_ms",
            "drip_ms",
        ];
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("unknown field {k:?}"));
        }
        let mode = obj
            .get("mode")
            .and_then(Value::as_str)
            .ok_or("\"mode\" is required")?;
        let mode = MODES
            .iter()
            .find(|(n, _)| *n == mode)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("unknown mode {mode:?}"))?;
        let number = |key: &str, default: u64| -> Result<u64, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| format!("{key:?} must be a non-negative integer")),
            }
        };
        let text = |key: &str| -> Result<Option<String>, String> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{key:?} must be a string")),
            }
        };
        let probability = match obj.get("probability") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => Some(p),
                _ => return Err("\"probability\" must be a number from 0 to 1".into()),
            },
        };
        let remaining = number("count", 1)?;
        if remaining == 0 {
            return Err("\"count\" must be at least 1".into());
        }
        Ok(Rule {
            mode,
            remaining,
            path: text("path")?,
            method: text("method")?,
            retry_after: number("retry_after", 1)?,
            stall_ms: number("stall_ms", 60_000)?,
            drip_ms: number("drip_ms", 50)?,
            hold_ms: number("hold_ms", 0)?,
            field: text("field")?.unwrap_or_else(|| "order_lines[0].total_tax_amount".into()),
            probability,
        })
    }

    /// Control requests under /_sim/ are never faulted; the caller does not ask for them.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "mode": self.mode.name(),
            "count": self.remaining,
            "path": self.path,
            "method": self.method,
            "retry_after": self.retry_after,
            "stall_ms": self.stall_ms,
            "drip_ms": self.drip_ms,
            "hold_ms": self.hold_ms,
            "field": self.field,
            "probability": self.probability,
        })
    }
}

/// What the connection handler does with a faulted request.
pub enum Action {
    /// Answer this instead of processing the request.
    Respond(Response),
    /// Close the socket abruptly without answering.
    Reset,
    /// Wait, then close without answering.
    Stall(Duration),
    /// Process normally but write the answer one byte at a time.
    Drip(Duration),
    /// Process the request, say nothing for this long, then close.
    LoseAnswer(Duration),
    /// Process and answer normally, then close the connection.
    CloseAfterAnswer,
}

pub fn action(rule: &Rule, correlation_id: &str) -> Action {
    const HTML_401: &str = "<html><body><h1>401 Unauthorized</h1></body></html>";
    const HTML_500: &str = "<html><body><h1>500 Internal Server Error</h1></body></html>";
    let unavailable = |status| {
        klarna_error(
            status,
            "TEMPORARILY_UNAVAILABLE",
            "Service temporarily unavailable",
            correlation_id,
        )
    };
    Action::Respond(match rule.mode {
        Mode::Status500 => klarna_error(500, "INTERNAL_ERROR", "Internal error", correlation_id),
        Mode::Status502 => unavailable(502),
        Mode::Status503 => unavailable(503),
        Mode::RateLimit => klarna_error(
            429,
            "TOO_MANY_REQUESTS",
            "Rate limit exceeded",
            correlation_id,
        )
        .header("Retry-After", &rule.retry_after.to_string()),
        Mode::MalformedJson => Response::new(200)
            .header("Content-Type", "application/json")
            .body(b"{\"status\": \"DISTRIB".to_vec()),
        Mode::Html401 => Response::html(401, HTML_401),
        Mode::Html500 => Response::html(500, HTML_500),
        Mode::BadValue => klarna_error(
            400,
            "BAD_VALUE",
            &format!("Bad value: {}", rule.field),
            correlation_id,
        ),
        Mode::Reset => return Action::Reset,
        Mode::Stall => return Action::Stall(Duration::from_millis(rule.stall_ms)),
        Mode::SlowDrip => return Action::Drip(Duration::from_millis(rule.drip_ms)),
        Mode::LoseAnswer => return Action::LoseAnswer(Duration::from_millis(rule.hold_ms)),
        Mode::CloseAfterAnswer => return Action::CloseAfterAnswer,
    })
}

/// Makes the coming close send a TCP RST instead of a FIN (SO_LINGER with a zero
/// timeout), which is what a crashed proxy or a dropped connection looks like to a
/// client. std has no stable API for it, so the option is set through the platform's
/// own `setsockopt`; where that is not wired up, the caller's plain close is used.
pub fn set_reset_on_close(stream: &TcpStream) {
    // Unused on platforms where none of the branches below applies.
    let _ = stream;
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        not(any(
            target_arch = "mips",
            target_arch = "mips64",
            target_arch = "sparc",
            target_arch = "sparc64"
        ))
    ))]
    {
        use std::os::unix::io::AsRawFd;
        const SOL_SOCKET: i32 = 1;
        const SO_LINGER: i32 = 13;
        unix_linger_zero(stream.as_raw_fd(), SOL_SOCKET, SO_LINGER);
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    {
        use std::os::unix::io::AsRawFd;
        const SOL_SOCKET: i32 = 0xffff;
        const SO_LINGER: i32 = 0x0080;
        unix_linger_zero(stream.as_raw_fd(), SOL_SOCKET, SO_LINGER);
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsRawSocket;
        #[repr(C)]
        struct Linger {
            l_onoff: u16,
            l_linger: u16,
        }
        #[link(name = "ws2_32")]
        extern "system" {
            fn setsockopt(
                s: usize,
                level: i32,
                optname: i32,
                optval: *const u8,
                optlen: i32,
            ) -> i32;
        }
        let linger = Linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the socket is open for the lifetime of `stream`, and optval points to
        // a live LINGER struct whose exact size is passed.
        unsafe {
            setsockopt(
                stream.as_raw_socket() as usize,
                0xffff,
                0x0080,
                (&linger as *const Linger).cast(),
                std::mem::size_of::<Linger>() as i32,
            );
        }
    }
}

#[cfg(unix)]
#[allow(dead_code)] // unused on unix flavours whose constants are not wired up above
fn unix_linger_zero(fd: i32, level: i32, name: i32) {
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(
            fd: i32,
            level: i32,
            name: i32,
            value: *const std::ffi::c_void,
            len: u32,
        ) -> i32;
    }
    let linger = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `fd` is an open socket owned by the caller's TcpStream, and `value` points
    // to a live `struct linger` whose exact size is passed.
    unsafe {
        setsockopt(
            fd,
            level,
            name,
            (&linger as *const Linger).cast(),
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules_with_defaults() {
        let r = Rule::from_json(&json!({"mode": "rate_limit"})).unwrap();
        assert_eq!(r.mode, Mode::RateLimit);
        assert_eq!(
            (r.remaining, r.retry_after, r.stall_ms, r.drip_ms),
            (1, 1, 60_000, 50)
        );
        assert!(r.matches("GET", "/anything"));
        let r = Rule::from_json(
            &json!({"mode": "reset", "count": 3, "path": "/instore/", "method": "get"}),
        )
        .unwrap();
        assert!(r.matches("GET", "/instore/v1/distributions/x"));
        assert!(!r.matches("POST", "/instore/v1/distributions/x"));
        assert!(!r.matches("GET", "/payments/v1/sessions"));
        assert_eq!(r.to_json()["mode"], "reset");
    }

    #[test]
    fn rejects_bad_rules() {
        for v in [
            json!({}),
            json!({"mode": "explode"}),
            json!({"mode": "reset", "count": 0}),
            json!({"mode": "reset", "count": -1}),
            json!({"mode": "reset", "pth": "/x"}),
            json!({"mode": "reset", "probability": 1.5}),
            json!({"mode": "reset", "probability": "often"}),
            json!([1]),
        ] {
            assert!(Rule::from_json(&v).is_err(), "{v}");
        }
    }
}
