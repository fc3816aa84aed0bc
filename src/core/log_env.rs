//! Logging without code: `KLARNA_POS_LOG=error|warn|info|debug|trace` writes the library's log
//! to standard error, or appends it to the file named by `KLARNA_POS_LOG_FILE` (created with
//! mode 0600). Each line: an RFC 3339 UTC time, the level, the thread and the message. This
//! works beside a callback set with `kpos_set_log_callback`; both get every message their level
//! admits.
//!
//! Also here: the records of the HTTP crate (which logs through the `log` crate) are forwarded
//! into the library's log, redacted, at `Debug` (its errors, warnings and notes) and `Trace`
//! (its debug and trace records); its hex dumps of raw requests and answers are left out.

use std::fs::File;
use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use super::clock;
use super::log::{self, Level};

/// The variables read (once, at the library's first log question).
pub const LEVEL_VARIABLE: &str = "KLARNA_POS_LOG";
pub const FILE_VARIABLE: &str = "KLARNA_POS_LOG_FILE";

/// No lock: each line goes out with one write to a file opened for appending (or standard
/// error), so lines of concurrent threads do not interleave and a `fork` while another thread
/// writes leaves nothing locked in the child.
struct EnvLog {
    level: Level,
    out: Out,
}

enum Out {
    Stderr,
    File(File),
}

static ENV_LOG: OnceLock<Option<EnvLog>> = OnceLock::new();

fn env_log() -> Option<&'static EnvLog> {
    ENV_LOG
        .get_or_init(|| {
            let log = open_from_env();
            forward_records(log.as_ref().map(|l| l.level));
            log
        })
        .as_ref()
}

/// Reads the variables; problems are reported once on standard error and leave the log off.
fn open_from_env() -> Option<EnvLog> {
    let value = std::env::var(LEVEL_VARIABLE).ok()?;
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("off") {
        return None;
    }
    let Some(level) = parse_level(value) else {
        eprintln!(
            "klarna-pos: {}={:?} is not one of error, warn, info, debug, trace; not logging",
            LEVEL_VARIABLE, value
        );
        return None;
    };
    let out = match std::env::var_os(FILE_VARIABLE).filter(|p| !p.is_empty()) {
        None => Out::Stderr,
        Some(path) => match open_file(std::path::Path::new(&path)) {
            Ok(f) => Out::File(f),
            Err(e) => {
                eprintln!(
                    "klarna-pos: {} {} cannot be opened ({}); not logging",
                    FILE_VARIABLE,
                    std::path::Path::new(&path).display(),
                    e
                );
                return None;
            }
        },
    };
    Some(EnvLog { level, out })
}

fn open_file(path: &std::path::Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

pub fn parse_level(s: &str) -> Option<Level> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Some(Level::Error),
        "warn" | "warning" => Some(Level::Warn),
        "info" => Some(Level::Info),
        "debug" => Some(Level::Debug),
        "trace" => Some(Level::Trace),
        _ => None,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

/// Whether the environment's log takes messages at `level`.
pub fn enabled(level: Level) -> bool {
    env_log().is_some_and(|l| level <= l.level)
}

/// Writes one line, when the environment's log takes `level`. A failed write is dropped: the
/// till keeps working.
pub fn write(level: Level, message: &str) {
    let Some(log) = env_log() else { return };
    if level > log.level {
        return;
    }
    let thread = std::thread::current();
    let mut line = format!(
        "{} {} [{}] ",
        clock::rfc3339_utc(std::time::SystemTime::now()),
        level_name(level),
        thread
            .name()
            .map_or_else(|| format!("{:?}", thread.id()), str::to_string)
    );
    // One message, one line: line breaks and other control characters become spaces.
    line.extend(
        message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c }),
    );
    line.push('\n');
    let _ = match &log.out {
        Out::Stderr => write_stderr(line.as_bytes()),
        Out::File(f) => (&*f).write_all(line.as_bytes()),
    };
}

/// Writes to file descriptor 2 directly: the standard library's `stderr()` takes a lock.
#[cfg(unix)]
fn write_stderr(mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes for the whole call.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) -> std::io::Result<()> {
    std::io::stderr().write_all(bytes)
}

/// Forwards the `log` crate's records (from the HTTP crate) into the library's log.
struct Forward;

static FORWARD: Forward = Forward;

impl ::log_facade::Log for Forward {
    fn enabled(&self, metadata: &::log_facade::Metadata<'_>) -> bool {
        log::enabled(forwarded_level(metadata.level()))
    }

    fn log(&self, record: &::log_facade::Record<'_>) {
        let level = forwarded_level(record.level());
        if !log::enabled(level) || is_raw_dump(record.target()) {
            return;
        }
        let text = format!("{}: {}", record.target(), record.args());
        log::emit(level, &redact(&text));
    }

    fn flush(&self) {}
}

/// Records that dump raw bytes (requests and answers in hex, across several records): no
/// redaction can follow a header split over lines, so they are never forwarded.
fn is_raw_dump(target: &str) -> bool {
    target.starts_with("ureq_proto::util")
}

fn forwarded_level(level: ::log_facade::Level) -> Level {
    match level {
        ::log_facade::Level::Error | ::log_facade::Level::Warn | ::log_facade::Level::Info => {
            Level::Debug
        }
        ::log_facade::Level::Debug | ::log_facade::Level::Trace => Level::Trace,
    }
}

/// The callback's level (`Level as u32`, 0 without a callback).
static CALLBACK_LEVEL: AtomicU32 = AtomicU32::new(0);

/// Records the callback's level (`None`: no callback) for the forwarding of other crates'
/// records; called whenever the callback changes.
pub fn callback_changed(level: Option<Level>) {
    CALLBACK_LEVEL.store(level.map_or(0, |l| l as u32), Ordering::Relaxed);
    forward_records(ENV_LOG.get().and_then(|l| l.as_ref()).map(|l| l.level));
}

/// Tells the `log` crate which records to pass on: those the most verbose of the callback and
/// the environment's log (at `env`) takes.
fn forward_records(env: Option<Level>) {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| ::log_facade::set_logger(&FORWARD).is_ok());
    if !installed {
        return;
    }
    let callback = Level::from_u32(CALLBACK_LEVEL.load(Ordering::Relaxed));
    let most = callback.max(env);
    ::log_facade::set_max_level(match most {
        Some(Level::Trace) => ::log_facade::LevelFilter::Trace,
        Some(Level::Debug) => ::log_facade::LevelFilter::Info,
        _ => ::log_facade::LevelFilter::Off,
    });
}

/// Makes a record of another crate safe to log: header values of `authorization` and
/// `proxy-authorization`, the credentials in URLs (`user:password@`) and URL queries (where
/// webhook tokens travel) are replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &lower[i..];
        if rest.starts_with("authorization") {
            // The name, then separators, then the value up to a quote, comma or line end.
            let mut j = i + "authorization".len();
            out.push_str(&text[i..j]);
            while j < text.len() && matches!(bytes[j], b'"' | b':' | b' ' | b'=') {
                out.push(bytes[j] as char);
                j += 1;
            }
            let value_end = text[j..]
                .find(['"', ',', '\n', '}'])
                .map_or(text.len(), |k| j + k);
            if value_end > j {
                out.push_str("***");
            }
            i = value_end;
            continue;
        }
        if rest.starts_with("://") {
            out.push_str("://");
            let j = i + 3;
            let end = text[j..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '>' | ')' | ','))
                .map_or(text.len(), |k| j + k);
            let url = &text[j..end];
            let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
            let (authority, path) = url.split_at(authority_end);
            match authority.rfind('@') {
                Some(at) => {
                    out.push_str("***@");
                    out.push_str(&authority[at + 1..]);
                }
                None => out.push_str(authority),
            }
            match path.find('?') {
                Some(q) => {
                    out.push_str(&path[..q]);
                    out.push_str("?***");
                }
                None => out.push_str(path),
            }
            i = end;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_authorization_url_credentials_and_queries() {
        let text = r#"Request { uri: https://api.example/x?token=t0k, headers: {"authorization": "Basic dTpw", "proxy-authorization": "Basic cDpx"} } via http://pu:ppw@proxy:3128"#;
        let r = redact(text);
        for secret in ["t0k", "dTpw", "cDpx", "ppw", "pu:"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(r.contains("https://api.example/x?***"), "{r}");
        assert!(r.contains("http://***@proxy:3128"), "{r}");
        assert!(r.contains(r#""authorization": "***""#), "{r}");
        assert_eq!(redact("plain ünïcode line"), "plain ünïcode line");
    }

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(parse_level("DEBUG"), Some(Level::Debug));
        assert_eq!(parse_level("warning"), Some(Level::Warn));
        assert_eq!(parse_level("verbose"), None);
    }
}
