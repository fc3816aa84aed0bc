//! Shared by the Rust integration tests: a simulator process per test, its control endpoints,
//! and thin helpers over the C ABI (the tests call the exported functions exactly as C does).
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use klarna_pos::ffi::client::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

pub const USER: &str = "test_user";
pub const PASSWORD: &str = "test_password";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The test-only TLS material (see tests/data/tls/make.sh).
pub fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

/// Appends a line to target/hardening/<report>.txt, the measurements `tests/run` prints at
/// its end (times and counts are reported, never asserted against thresholds).
pub fn report(report: &str, line: &str) {
    use std::io::Write as _;
    eprintln!("{line}");
    let dir = target_dir().join("hardening");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{report}.txt")))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// The simulator binary, built once per test process.
pub fn sim_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "klarna-pos-sim"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the simulator failed");
            target_dir().join("debug").join("klarna-pos-sim")
        })
        .clone()
}

/// One simulator process on a free loopback port; killed when dropped.
pub struct Sim {
    child: Child,
    pub url: String,
    agent: ureq::Agent,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(&[])
    }

    /// A simulator serving HTTPS with the test certificate `name` (`localhost` or
    /// `wrong-name`) from tests/data/tls, signed by tests/data/tls/ca.pem. Its `url` names
    /// `localhost`, which the `localhost` certificate covers.
    pub fn start_tls(cert: &str, extra: &[&str]) -> Sim {
        let dir = tls_dir();
        let cert_file = dir.join(format!("{cert}.pem"));
        let key_file = dir.join(format!("{cert}.key"));
        let mut args = vec![
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut sim = Sim::start_with(&args);
        sim.url = sim.url.replace("127.0.0.1", "localhost");
        // The control calls trust the test CA; they go to localhost, which only the
        // `localhost` certificate names.
        let pem = std::fs::read(dir.join("ca.pem")).unwrap();
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
            .build();
        sim.agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .into();
        sim
    }

    pub fn start_with(extra: &[&str]) -> Sim {
        let mut child = Command::new(sim_bin())
            .args(["--listen", "127.0.0.1:0", "--exit-on-stdin-eof"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {:?}", first))
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Sim { child, url, agent }
    }

    /// Calls a `/_sim/` control endpoint and returns its JSON answer (or Null).
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/_sim/{}", self.url, path);
        let mut resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(b)) => self.agent.post(&url).send(b.to_string().as_bytes()),
            (_, None) => self.agent.post(&url).send_empty(),
        }
        .expect("simulator control call");
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        assert!(
            resp.status().is_success(),
            "{} {} -> {} {}",
            method,
            path,
            resp.status(),
            text
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub fn stats(&self) -> Value {
        self.control("GET", "stats", None)
    }

    pub fn session(&self, id: &str) -> Value {
        self.control("GET", &format!("sessions/{}", id), None)
    }

    pub fn act(&self, id: &str, action: &str, body: Option<Value>) -> Value {
        self.control("POST", &format!("sessions/{}/{}", id, action), body)
    }

    pub fn fault(&self, rule: Value) {
        self.control("POST", "faults", Some(rule));
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "faults", None);
    }

    /// One counter of /_sim/stats.
    pub fn stat(&self, name: &str) -> u64 {
        self.stats()[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    pub fn config(&self, cfg: Value) {
        self.control("POST", "config", Some(cfg));
    }

    /// A client configuration for this simulator, with `extra` keys merged in.
    pub fn config_json(&self, extra: Value) -> String {
        let mut cfg = json!({"api_url": self.url, "username": USER, "password": PASSWORD,
                             "user_agent": "TestTill/1.0 (store 042)", "poll_interval_ms": 100});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                cfg[k] = v;
            }
        }
        cfg.to_string()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.config_json(json!({}))).expect("client")
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cstring(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A string the library owns, copied.
pub fn owned(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
}

/// The last error of this thread as JSON.
pub fn last_error() -> Value {
    serde_json::from_str(&owned(kpos_last_error_json()).unwrap()).unwrap()
}

/// A failed call: its code and the last-error detail.
#[derive(Debug)]
pub struct Failure {
    pub code: u32,
    pub detail: Value,
}

fn check(code: u32) -> Result<(), Failure> {
    if code == KPOS_OK {
        Ok(())
    } else {
        Err(Failure {
            code,
            detail: last_error(),
        })
    }
}

/// Owns a `kpos_client`.
#[derive(Debug)]
pub struct Client(pub *mut kpos_client);
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    pub fn new(config: &str) -> Result<Client, Failure> {
        let c = cstring(config);
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_client_new(c.as_ptr(), &mut out) })?;
        Ok(Client(out))
    }

    pub fn create(&self, order: &str) -> Result<Session, Failure> {
        let o = cstring(order);
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_session_create(self.0, o.as_ptr(), &mut out) })?;
        Ok(Session(out))
    }

    pub fn resume(&self, id: &str, result_url: &str) -> Result<Session, Failure> {
        let (i, u) = (cstring(id), cstring(result_url));
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_session_resume(self.0, i.as_ptr(), u.as_ptr(), &mut out) })?;
        Ok(Session(out))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        unsafe { kpos_client_free(self.0) }
    }
}

/// Owns a `kpos_session`; `Sync` because `cancel` may come from any thread.
#[derive(Debug)]
pub struct Session(pub *mut kpos_session);
unsafe impl Send for Session {}
unsafe impl Sync for Session {}

impl Session {
    pub fn id(&self) -> String {
        owned(unsafe { kpos_session_id(self.0) }).unwrap()
    }
    pub fn result_url(&self) -> String {
        owned(unsafe { kpos_session_result_url(self.0) }).unwrap()
    }
    pub fn status(&self) -> u32 {
        unsafe { kpos_session_status(self.0) }
    }
    pub fn qr_url(&self) -> Option<String> {
        owned(unsafe { kpos_session_qr_url(self.0) })
    }
    pub fn payment_link(&self) -> Option<String> {
        owned(unsafe { kpos_session_payment_link(self.0) })
    }
    pub fn order_id(&self) -> Option<String> {
        owned(unsafe { kpos_session_order_id(self.0) })
    }
    pub fn poll(&self) -> Result<u32, Failure> {
        let mut s = u32::MAX;
        check(unsafe { kpos_session_poll(self.0, &mut s) })?;
        Ok(s)
    }
    /// `Ok(status)` or the failure together with the status written on timeout.
    pub fn wait(&self, timeout_ms: u32) -> Result<u32, (Failure, u32)> {
        let mut s = u32::MAX;
        let code = unsafe { kpos_session_wait(self.0, timeout_ms, &mut s) };
        check(code).map(|_| s).map_err(|f| (f, s))
    }
    pub fn cancel(&self) -> Result<(), Failure> {
        check(unsafe { kpos_session_cancel(self.0) })
    }
    pub fn failure(&self) -> Result<(), Failure> {
        check(unsafe { kpos_session_failure(self.0) })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { kpos_session_free(self.0) }
    }
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{}: {}", path, e))
}

/// The demo order: a small valid Swedish order.
pub fn order() -> String {
    read("examples/orders/se_coffee.json")
}
