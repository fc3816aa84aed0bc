//! Operating the library in a shop, with the example C till (examples/c/till.c) run as a shop's
//! IT would: logging turned on by environment variables only, the shop's proxy given by
//! `HTTPS_PROXY` (a CONNECT proxy run by this test), the server's CA only in the "system" store
//! (`SSL_CERT_FILE`), a configuration file named by `KLARNA_POS_CONFIG`, and `--check` against
//! the simulator with right and wrong credentials and with the simulator stopped.
#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};

/// Every variable that could change what the till does here, removed from its environment.
const AMBIENT: &[&str] = &[
    "KLARNA_API_URL",
    "KLARNA_USERNAME",
    "KLARNA_PASSWORD",
    "KLARNA_USER_AGENT",
    "KLARNA_JOURNAL_DIR",
    "KLARNA_POS_CONFIG",
    "KLARNA_POS_LOG",
    "KLARNA_POS_LOG_FILE",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

const PROXY_USER: &str = "shop-it";
const PROXY_PASSWORD: &str = "pr0xy-s3cret";

fn till() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| compile_c("examples/c/till.c", "till_operations"))
        .clone()
}

fn order_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/se_coffee.json")
}

/// The till with a clean environment plus `vars`.
fn till_command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(till());
    cmd.args(args);
    for v in AMBIENT {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn credentials(url: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KLARNA_API_URL", url.to_string()),
        ("KLARNA_USERNAME", USER.to_string()),
        ("KLARNA_PASSWORD", password.to_string()),
    ]
}

/// Pays the example order with the C till under `vars`, playing the customer; the till must
/// exit 0. Returns its stdout lines and stderr.
fn pay_with_c_till(sim: &Sim, vars: &[(&str, String)]) -> (Vec<String>, String) {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let order = order_file();
    let cmd = till_command(&[order.to_str().unwrap(), "--timeout-ms", "30000"], &vars);
    let (lines, code, stderr) = pay_with_till(cmd, sim, "ops-1");
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    (lines, stderr)
}

fn run_check(vars: &[(&str, String)]) -> (Output, Value) {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = till_command(&["--check"], &vars).output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let report: Value = serde_json::from_str(stdout.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON report ({e}) in {stdout:?}"));
    (out, report)
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

/// The secrets of these tests, in every form they could leak in.
fn secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        PASSWORD.to_string(),
        b64(&format!("{USER}:{PASSWORD}")),
        PROXY_PASSWORD.to_string(),
        b64(&format!("{PROXY_USER}:{PROXY_PASSWORD}")),
    ]
}

/// Whether `line` has the shape `2026-11-30T05:41:07.123Z LEVEL [thread] message`.
fn is_log_line(line: &str) -> bool {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let time_ok = line.len() > 25
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && &line[23..25] == "Z ";
    let mut rest = line.get(25..).unwrap_or("").splitn(3, ' ');
    let level = rest.next().unwrap_or("");
    let thread = rest.next().unwrap_or("");
    let message = rest.next().unwrap_or("");
    time_ok
        && ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&level)
        && thread.starts_with('[')
        && thread.ends_with(']')
        && !message.is_empty()
}

#[test]
fn a_till_logs_to_a_file_with_only_two_environment_variables() {
    let sim = Sim::start();
    let dir = scratch_dir("ops-log-file");
    let log = dir.join("till.log");
    let log_s = log.to_str().unwrap().to_string();
    let mut vars = credentials(&sim.url, PASSWORD);
    vars.push(("KLARNA_POS_LOG", "debug".into()));
    vars.push(("KLARNA_POS_LOG_FILE", log_s.clone()));
    let (_, stderr) = pay_with_c_till(&sim, &vars);
    assert!(
        !stderr.contains(" DEBUG ["),
        "the log went to the file only: {stderr}"
    );

    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the log file is private");
    let text = std::fs::read_to_string(&log).unwrap();
    let first_run = text.lines().count();
    for line in text.lines() {
        assert!(is_log_line(line), "not a log line: {line:?}");
    }
    for expected in [
        "client for http://127.0.0.1:",
        " created (",
        "POST http://127.0.0.1:",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    assert!(text.lines().any(|l| l.contains(" DEBUG [")), "{text}");

    // Trace adds the HTTP crate's records, appended to the same file, secrets still absent.
    vars.retain(|(k, _)| *k != "KLARNA_POS_LOG");
    vars.push(("KLARNA_POS_LOG", "trace".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = till_command(&["--check"], &vars).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > first_run, "appended");
    assert!(
        text.contains(" TRACE [") && text.contains("ureq::"),
        "{text}"
    );
    for line in text.lines() {
        assert!(is_log_line(line), "not a log line: {line:?}");
    }
    for secret in secrets() {
        assert!(!text.contains(&secret), "{secret} in the log");
    }
    report(
        "operations",
        &format!(
            "KLARNA_POS_LOG=debug: a paid till wrote {} lines to a 0600 file, e.g. {}",
            first_run,
            text.lines()
                .find(|l| l.contains(" created ("))
                .unwrap_or("")
        ),
    );
}

#[test]
fn a_log_file_that_cannot_be_opened_is_reported_once_and_the_till_works() {
    let sim = Sim::start();
    let mut vars = credentials(&sim.url, PASSWORD);
    vars.push(("KLARNA_POS_LOG", "debug".into()));
    vars.push(("KLARNA_POS_LOG_FILE", "/nonexistent-dir/till.log".into()));
    let (out, report) = run_check(&vars);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report["ok"], true);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.matches("/nonexistent-dir/till.log").count(),
        1,
        "{stderr}"
    );
}

/// A CONNECT proxy on loopback that wants `PROXY_USER:PROXY_PASSWORD`; counts the tunnels it
/// opened and records their targets.
struct ConnectProxy {
    port: u16,
    tunnels: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let seen = tunnels.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let seen = seen.clone();
                std::thread::spawn(move || tunnel(client, &seen));
            }
        });
        ConnectProxy { port, tunnels }
    }

    fn url(&self) -> String {
        format!(
            "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
            self.port
        )
    }

    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

fn tunnel(mut client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request = lines.next().unwrap_or("").to_string();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"))
    );
    let authorized = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.eq_ignore_ascii_case("proxy-authorization") && v.trim() == expected
        })
    });
    let Some(target) = request
        .strip_prefix("CONNECT ")
        .and_then(|r| r.split(' ').next())
    else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if !authorized {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"shop\"\r\nContent-Length: 0\r\n\r\n",
        );
        return;
    }
    let Ok(server) = TcpStream::connect(target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    seen.lock().unwrap().push(target.to_string());
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Write);
    });
    let (mut client, mut server) = (client, server);
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

fn ca_file() -> String {
    tls_dir().join("ca.pem").to_string_lossy().into_owned()
}

#[test]
fn a_payment_over_https_through_the_proxy_of_https_proxy_trusting_the_system_store() {
    let sim = Sim::start_tls("localhost", &[]);
    let proxy = ConnectProxy::start();
    let dir = scratch_dir("ops-proxy");
    let log = dir.join("till.log");
    let mut vars = credentials(&sim.url, PASSWORD);
    // The server's CA is only in the "system" store; nothing in the configuration names it.
    vars.push(("SSL_CERT_FILE", ca_file()));
    vars.push(("HTTPS_PROXY", proxy.url()));
    vars.push(("KLARNA_POS_LOG", "trace".into()));
    vars.push(("KLARNA_POS_LOG_FILE", log.to_str().unwrap().into()));
    let (lines, _) = pay_with_c_till(&sim, &vars);
    assert!(lines.iter().any(|l| l == "status=COMPLETED"), "{lines:#?}");
    let host_port = sim.url.trim_start_matches("https://").to_string();
    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty(), "the payment went through the proxy");
    assert!(tunnels.iter().all(|t| *t == host_port), "{tunnels:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("from the environment variable HTTPS_PROXY"),
        "{text}"
    );
    for secret in secrets() {
        assert!(!text.contains(&secret), "{secret} in the log");
    }

    // The health check walks the same way, step by step.
    let (out, report) = run_check(&vars);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(step(&report, "proxy")["verdict"], "ok", "{report:#}");
    assert_eq!(step(&report, "tls")["verdict"], "ok", "{report:#}");
    assert!(
        step(&report, "tls")["certificate_expires"].is_string(),
        "{report:#}"
    );
    assert!(!report.to_string().contains(PROXY_PASSWORD));

    // Without the system store's CA the handshake fails at the tls step, naming KPOS_E_TLS.
    let mut untrusted = vars.clone();
    untrusted.retain(|(k, _)| *k != "SSL_CERT_FILE");
    untrusted.push(("SSL_CERT_FILE", "/dev/null".into()));
    let (out, report) = run_check(&untrusted);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["code_name"], "KPOS_E_TLS", "{report:#}");
    assert_eq!(step(&report, "tls")["verdict"], "failed", "{report:#}");
    report_line(&format!(
        "https payment via HTTPS_PROXY ({} tunnel(s)) with the CA in SSL_CERT_FILE only: COMPLETED",
        tunnels.len()
    ));
}

fn report_line(line: &str) {
    report("operations", line);
}

#[test]
fn no_proxy_sends_the_till_past_the_proxy() {
    let sim = Sim::start_tls("localhost", &[]);
    let proxy = ConnectProxy::start();
    let mut vars = credentials(&sim.url, PASSWORD);
    vars.push(("SSL_CERT_FILE", ca_file()));
    vars.push(("HTTPS_PROXY", proxy.url()));
    vars.push(("NO_PROXY", "example.org,localhost".into()));
    let (out, report) = run_check(&vars);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["proxy"], Value::Null, "{report:#}");
    assert_eq!(step(&report, "proxy")["verdict"], "skipped");
    assert!(proxy.tunnels().is_empty(), "nothing went through the proxy");
    // "proxy": "none" in the configuration file does the same.
    let dir = scratch_dir("ops-proxy-none");
    let file = dir.join("till.json");
    std::fs::write(&file, json!({"proxy": "none"}).to_string()).unwrap();
    let mut vars = credentials(&sim.url, PASSWORD);
    vars.push(("SSL_CERT_FILE", ca_file()));
    vars.push(("HTTPS_PROXY", proxy.url()));
    vars.push(("KLARNA_POS_CONFIG", file.to_str().unwrap().into()));
    let (out, report) = run_check(&vars);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["proxy_source"], "\"proxy\": \"none\"");
    assert!(proxy.tunnels().is_empty());
}

#[test]
fn check_against_the_simulator_with_right_and_wrong_credentials_and_stopped() {
    let sim = Sim::start();
    let (out, report) = run_check(&credentials(&sim.url, PASSWORD));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["code_name"], "KPOS_OK");
    let names: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["dns", "tcp", "proxy", "tls", "credentials", "clock"]
    );
    assert_eq!(step(&report, "credentials")["verdict"], "ok");
    assert_eq!(step(&report, "clock")["verdict"], "ok");
    assert!(step(&report, "clock")["offset_s"].is_i64());
    assert_eq!(sim.stat("sessions_created"), 0, "the check created nothing");

    let (out, report) = run_check(&credentials(&sim.url, "not-the-password"));
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(
        report["code_name"], "KPOS_E_PERMISSION_DENIED",
        "{report:#}"
    );
    let credentials_step = step(&report, "credentials");
    assert_eq!(credentials_step["verdict"], "failed");
    assert!(credentials_step["action"]
        .as_str()
        .unwrap()
        .contains("username and password"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("error=KPOS_E_PERMISSION_DENIED"),
        "{stdout}"
    );

    let url = sim.url.clone();
    drop(sim);
    let (out, report) = run_check(&credentials(&url, PASSWORD));
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["code_name"], "KPOS_E_NETWORK", "{report:#}");
    assert_eq!(step(&report, "tcp")["verdict"], "failed");
    assert_eq!(step(&report, "credentials")["verdict"], "skipped");
    report_line(&format!(
        "--check: right credentials KPOS_OK, wrong {}, simulator stopped {}",
        "KPOS_E_PERMISSION_DENIED", report["code_name"]
    ));
}

#[test]
fn klarna_pos_config_names_a_file_and_its_errors_name_file_and_key() {
    let sim = Sim::start();
    let dir = scratch_dir("ops-config");
    let file = dir.join("till.json");
    std::fs::write(
        &file,
        json!({"api_url": sim.url, "username": USER, "password": "wrong", "request_timeout_ms": 5000})
            .to_string(),
    )
    .unwrap();
    let path = file.to_str().unwrap().to_string();
    // The file alone; then KLARNA_PASSWORD overrides the file's password.
    let (out, report) = run_check(&[("KLARNA_POS_CONFIG", path.clone())]);
    assert_eq!(
        report["code_name"], "KPOS_E_PERMISSION_DENIED",
        "{report:#}"
    );
    assert_eq!(out.status.code(), Some(1));
    let (out, report) = run_check(&[
        ("KLARNA_POS_CONFIG", path.clone()),
        ("KLARNA_PASSWORD", PASSWORD.into()),
    ]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");

    std::fs::write(
        &file,
        json!({"api_url": sim.url, "username": USER, "pasword": "x"}).to_string(),
    )
    .unwrap();
    let out = till_command(&["--check"], &[("KLARNA_POS_CONFIG", &path)])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("error=KPOS_E_INVALID_ARGUMENT")
            && stdout.contains(&path)
            && stdout.contains("pasword"),
        "{stdout}"
    );
}
