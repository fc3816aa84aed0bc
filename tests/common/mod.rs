//! Shared by the Rust integration tests: a simulator process per test, its control endpoints,
//! and thin helpers over the C ABI (the tests call the exported functions exactly as C does).
#![allow(dead_code)]

pub mod c_header;

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use klarna_pos::ffi::client::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::journal::*;
use klarna_pos::ffi::kpos_string_free;
use klarna_pos::ffi::order::*;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

pub const USER: &str = "test_user";
pub const PASSWORD: &str = "test_password";

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(ROOT).join(dir),
        None => PathBuf::from(ROOT).join("target"),
    }
}

/// Variables cargo sets for this test process (besides CARGO_PKG_*). Passed on to a nested
/// cargo they look like a changed environment to dependencies' build scripts (ring watches
/// CARGO_MANIFEST_DIR), which then rebuild on every run.
const CARGO_RUNTIME_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// `cargo build --quiet ARGS` in the checkout, as a developer would type it.
fn cargo_build(args: &[&str]) {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .arg("build")
        .arg("--quiet")
        .args(args)
        .current_dir(ROOT);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_") || CARGO_RUNTIME_VARS.contains(&key.as_ref()) {
            cargo.env_remove(key.as_ref());
        }
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "cargo build {:?} failed", args);
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
            cargo_build(&["-p", "klarna-pos-sim"]);
            target_dir().join("debug").join("klarna-pos-sim")
        })
        .clone()
}

/// The directory of the freshly built shared library (cargo test does not promise the cdylib
/// is fresh), built once per test process.
pub fn library_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            cargo_build(&["--lib", "-p", "klarna-pos"]);
            target_dir().join("debug")
        })
        .clone()
}

/// A program the test needs from the system; the test fails (never skips) when it is missing.
pub fn tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{name} is not installed: install Debian's {package} (tests/run installs it)")
    })
}

/// Compiles the C program `source` (relative to the checkout) with gcc against the committed
/// header and the freshly built library, warnings as errors, into target/c-programs/NAME.
pub fn compile_c(source: &str, name: &str) -> PathBuf {
    let cc = std::env::var_os("CC")
        .map(PathBuf::from)
        .unwrap_or_else(|| tool("gcc", "gcc"));
    compile_program(&cc, "-std=c99", &[], source, name)
}

/// Like [`compile_c`], for a C++11 program with g++.
pub fn compile_cpp(source: &str, name: &str) -> PathBuf {
    let cxx = std::env::var_os("CXX")
        .map(PathBuf::from)
        .unwrap_or_else(|| tool("g++", "g++"));
    compile_program(&cxx, "-std=c++11", &[], source, name)
}

/// Compiles `source` with `compiler`, the language standard `std`, warnings as errors and the
/// `extra` flags, against the committed header and the freshly built library.
pub fn compile_program(
    compiler: &std::path::Path,
    std: &str,
    extra: &[&str],
    source: &str,
    name: &str,
) -> PathBuf {
    let lib_dir = library_dir();
    let out_dir = target_dir().join("c-programs");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(name);
    let root = PathBuf::from(ROOT);
    let result = Command::new(compiler)
        .args([std, "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(extra)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("tests/c"))
        .arg(root.join(source))
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lklarna_pos")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("the compiler runs");
    assert!(
        result.status.success(),
        "{} does not compile cleanly:\n{}",
        source,
        String::from_utf8_lossy(&result.stderr)
    );
    out
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
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
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

    /// The ledger of an order: amounts, captures, refunds, every request and key seen.
    pub fn order(&self, id: &str) -> Value {
        self.control("GET", &format!("orders/{}", id), None)
    }

    /// Completes a new session (created through the library) and returns its order id.
    pub fn paid_order(&self, client: &Client) -> String {
        let s = client.create(&order()).unwrap();
        let approved = self.act(&s.id(), "approve", None);
        approved["order_id"].as_str().unwrap().to_string()
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

/// A string the library returned through `char **`, copied and released.
fn take_string(p: *mut c_char) -> String {
    let s = owned(p).expect("a string");
    unsafe { kpos_string_free(p) };
    s
}

fn opt_cstring(s: Option<&str>) -> Option<CString> {
    s.map(cstring)
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

impl Client {
    pub fn order_get(&self, order_id: &str) -> Result<Value, Failure> {
        let id = cstring(order_id);
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_order_get(self.0, id.as_ptr(), &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn capture(
        &self,
        order_id: &str,
        body: &str,
        key: Option<&str>,
    ) -> Result<String, Failure> {
        let (id, b, k) = (cstring(order_id), cstring(body), opt_cstring(key));
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_order_capture(self.0, id.as_ptr(), b.as_ptr(), ptr(&k), &mut out) })?;
        Ok(take_string(out))
    }

    pub fn refund(&self, order_id: &str, body: &str, key: Option<&str>) -> Result<String, Failure> {
        let (id, b, k) = (cstring(order_id), cstring(body), opt_cstring(key));
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_order_refund(self.0, id.as_ptr(), b.as_ptr(), ptr(&k), &mut out) })?;
        Ok(take_string(out))
    }

    pub fn cancel_order(&self, order_id: &str, key: Option<&str>) -> Result<(), Failure> {
        let (id, k) = (cstring(order_id), opt_cstring(key));
        check(unsafe { kpos_order_cancel(self.0, id.as_ptr(), ptr(&k)) })
    }

    pub fn release(&self, order_id: &str, key: Option<&str>) -> Result<(), Failure> {
        let (id, k) = (cstring(order_id), opt_cstring(key));
        check(unsafe { kpos_order_release_remaining_authorization(self.0, id.as_ptr(), ptr(&k)) })
    }

    /// `kpos_journal_pending`, parsed.
    pub fn pending(&self) -> Result<Vec<Value>, Failure> {
        let mut out = std::ptr::null_mut();
        check(unsafe { kpos_journal_pending(self.0, &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }
}

/// A fresh, empty directory under the target directory (kept for inspection after a failure).
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        target_dir()
            .join("test-scratch")
            .join(format!("{}-{}-{}", name, std::process::id(), n));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Private whatever the umask: a journal refuses a directory others may write to.
    #[cfg(unix)]
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    dir
}

/// Waits, bounded, until `condition` holds: for effects of another process or thread that the
/// test can observe but not be told about.
pub fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {}",
            what
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
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

/// Runs a till that prints `key=value` lines and plays the customer as it reports each step
/// (scan at DISTRIBUTED, approve with `order_id` at ACCESSED); returns its stdout lines, exit
/// code and stderr.
pub fn pay_with_till(
    mut cmd: Command,
    sim: &Sim,
    order_id: &str,
) -> (Vec<String>, Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut session_id = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("session_id=") {
            session_id = id.to_string();
        }
        match line.as_str() {
            "status=DISTRIBUTED" => {
                sim.act(&session_id, "scan", None);
            }
            "status=ACCESSED" => {
                sim.act(
                    &session_id,
                    "approve",
                    Some(json!({ "order_id": order_id })),
                );
            }
            _ => {}
        }
        lines.push(line);
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    (lines, status.code(), stderr)
}
