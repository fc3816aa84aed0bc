//! The hostile till: what a till process, its operating system or its network may do to the
//! library, and what the library must still guarantee. (The forking till is the C program
//! tests/c/adversarial_fork.c, run by tests/c_programs.rs.)
//!
//! - Journal files: symbolic links planted at the journal, its lock and its temporary file;
//!   a `journal_dir` writable by others or owned by another user; unreadable lines; a full disk.
//! - The log callback: re-entrant (it calls the library, also on what is being logged), slow,
//!   replaced while other threads log, replacing itself.
//! - Odd configuration: ports outside 1..65535, internationalised host names, a user name with
//!   a colon.
//!
//! Hang detection: a call that deadlocks is run on its own thread and reported after a generous
//! bound (it is a failure, not a measurement).

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::log::*;
use klarna_pos::ffi::session::*;
use serde_json::json;

/// The log callback is process-wide: tests that install one take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on its own thread; fails the test when it has not returned after `bound` (a
/// deadlock), instead of hanging the suite.
fn must_return<T: Send + 'static>(
    what: &str,
    bound: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(bound) {
        Ok(v) => v,
        Err(_) => panic!("{what}: still blocked after {bound:?} (deadlock)"),
    }
}

fn set_log(cb: kpos_log_callback, userdata: *mut c_void, level: u32) -> u32 {
    unsafe { kpos_set_log_callback(cb, userdata, level) }
}

fn journal_config(sim: &Sim, dir: &Path) -> String {
    sim.config_json(json!({"journal_dir": dir.to_str().unwrap()}))
}

/// A journal with one open session record (so compaction keeps something) and `extra` lines.
fn write_journal(dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("klarna-pos.journal"),
        format!(
            "{{\"klarna_pos_journal\":1}}\n{{\"op\":\"open\",\"id\":\"a\",\"kind\":\"capture\",\"created_at\":\"x\",\"created_unix\":{},\"order_id\":\"o-1\",\"idempotency_key\":\"k-1\",\"body\":null}}\n{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            extra
        ),
    )
    .unwrap();
}

// ---- journal files -------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_symlink_at_the_journal_or_its_lock_is_never_followed() {
    let sim = Sim::start();
    for name in ["klarna-pos.journal", "klarna-pos.journal.lock"] {
        let dir = scratch_dir("journal-symlink");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "precious\n").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        let refused = Client::new(&journal_config(&sim, &dir)).unwrap_err();
        assert_eq!(
            refused.code, KPOS_E_INVALID_ARGUMENT,
            "{name}: {:?}",
            refused.detail
        );
        assert_eq!(refused.detail["field"], "journal_dir", "{name}");
        println!("{name} as a symlink: {}", refused.detail["message"]);
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious\n",
            "{name}"
        );
    }
}

/// Compaction writes its temporary file exclusively under a random name: a symlink planted at
/// the old fixed name neither redirects the write nor becomes the journal.
#[cfg(unix)]
#[test]
fn compaction_never_writes_through_a_planted_temporary_file() {
    let sim = Sim::start();
    let dir = scratch_dir("journal-temp");
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("klarna-pos.journal.tmp")).unwrap();
    // A leftover of a compaction killed midway, planted as a link too.
    std::os::unix::fs::symlink(&victim, dir.join("klarna-pos.journal.tmp-leftover")).unwrap();
    // Closed records outnumber open ones: opening the journal compacts it.
    let mut closed = String::new();
    for i in 0..5 {
        closed.push_str(&format!(
            "{{\"op\":\"open\",\"id\":\"c{i}\",\"kind\":\"cancel\",\"created_at\":\"x\",\"created_unix\":1,\"order_id\":\"o\",\"idempotency_key\":\"k{i}\",\"body\":null}}\n{{\"op\":\"close\",\"id\":\"c{i}\",\"outcome\":\"done\"}}\n"
        ));
    }
    write_journal(&dir, &closed);
    let client = Client::new(&journal_config(&sim, &dir)).unwrap();
    assert_eq!(client.pending().unwrap().len(), 1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let journal = dir.join("klarna-pos.journal");
    assert!(
        !std::fs::symlink_metadata(&journal)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the journal became a symlink"
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains("\"c0\""), "compacted: {text}");
    let temps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("klarna-pos.journal.tmp-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
}

#[cfg(unix)]
#[test]
fn a_journal_dir_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::start();
    for (mode, who) in [
        (0o777, "every user"),
        (0o770, "its group"),
        (0o1777, "every user"),
    ] {
        let dir = scratch_dir("journal-mode");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let refused = Client::new(&journal_config(&sim, &dir)).unwrap_err();
        assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT, "mode {mode:o}");
        assert_eq!(refused.detail["field"], "journal_dir");
        let message = refused.detail["message"].as_str().unwrap();
        println!("mode {mode:o}: {message}");
        assert!(message.contains(who), "mode {mode:o}: {message}");
        assert!(!dir.join("klarna-pos.journal").exists(), "nothing written");
    }
    // A directory the library creates is private.
    let parent = scratch_dir("journal-new");
    let dir = parent.join("journal");
    let _client = Client::new(&journal_config(&sim, &dir)).unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

#[cfg(unix)]
#[test]
fn a_journal_dir_owned_by_another_user_is_refused() {
    // SAFETY: plain libc calls.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: changing a directory's owner needs root");
        return;
    }
    let sim = Sim::start();
    let dir = scratch_dir("journal-owner");
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let refused = Client::new(&journal_config(&sim, &dir)).unwrap_err();
    assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(refused.detail["field"], "journal_dir");
    let message = refused.detail["message"].as_str().unwrap();
    println!("{message}");
    assert!(message.contains("belongs to user id 65534"), "{message}");
}

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_unreadable(_u: *mut c_void, _level: u32, message: *const c_char) {
    if CStr::from_ptr(message)
        .to_string_lossy()
        .contains("unreadable")
    {
        WARNINGS.fetch_add(1, Ordering::SeqCst);
    }
}

/// A torn line is reported once and dropped by the compaction that opening the journal does,
/// not read (and logged) again on every call.
#[test]
fn compaction_drops_unreadable_lines() {
    let _serial = serial();
    let sim = Sim::start();
    let dir = scratch_dir("journal-torn");
    write_journal(&dir, "{\"op\":\"close\",\"id\":\"to");
    WARNINGS.store(0, Ordering::SeqCst);
    assert_eq!(
        set_log(Some(count_unreadable), std::ptr::null_mut(), KPOS_LOG_WARN),
        KPOS_OK
    );
    let client = Client::new(&journal_config(&sim, &dir)).unwrap();
    let after_open = WARNINGS.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(client.pending().unwrap().len(), 1);
    }
    set_log(None, std::ptr::null_mut(), KPOS_LOG_WARN);
    let text = std::fs::read_to_string(dir.join("klarna-pos.journal")).unwrap();
    assert!(
        !text.contains("\"to\n") && !text.ends_with("\"to"),
        "{text}"
    );
    assert_eq!(
        text.lines().count(),
        2,
        "header and the open record: {text}"
    );
    println!(
        "warnings at open: {after_open}, after 5 calls: {}",
        WARNINGS.load(Ordering::SeqCst)
    );
    assert_eq!(
        WARNINGS.load(Ordering::SeqCst),
        after_open,
        "no warning after compaction"
    );
}

/// A full disk: a journal that cannot take a record fails the call before anything is sent.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_fails_the_call_before_anything_is_sent() {
    let dir = scratch_dir("journal-full");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount a small tmpfs here (needs root and mount rights)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&dir);
    let sim = Sim::start();
    let client = Client::new(&journal_config(&sim, &dir)).unwrap();
    // The journal ends on a page boundary (padded with one unreadable line), so the next
    // record needs a page of its own; then fill the rest of the file system.
    let journal = dir.join("klarna-pos.journal");
    let len = std::fs::metadata(&journal).unwrap().len() as usize;
    let pad = 4096 - len % 4096;
    let mut padding = vec![b'#'; pad];
    padding[pad - 1] = b'\n';
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut j, &padding).unwrap();
    drop(j);
    let filler = vec![b'x'; 4096];
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    while std::io::Write::write_all(&mut f, &filler).is_ok() {}
    let _ = f.sync_all();
    let creates = sim.stat("create_requests");
    let refused = client.create(&order()).unwrap_err();
    println!("full disk: {}", refused.detail["message"]);
    assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(refused.detail["field"], "journal_dir");
    assert!(refused.detail["message"]
        .as_str()
        .unwrap()
        .contains("nothing was sent"));
    assert_eq!(sim.stat("create_requests"), creates, "nothing sent");
}

// ---- the log callback ----------------------------------------------------------------------

static REENTRANT_CLIENT: AtomicUsize = AtomicUsize::new(0);
static REENTRANT_CALLS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Calls back into the library on whatever is being logged: the journal, the client.
unsafe extern "C" fn reentrant(_u: *mut c_void, _level: u32, _message: *const c_char) {
    if INSIDE.with(|i| i.replace(true)) {
        return;
    }
    let client =
        REENTRANT_CLIENT.load(Ordering::SeqCst) as *mut klarna_pos::ffi::client::kpos_client;
    if !client.is_null() {
        let mut out = std::ptr::null_mut();
        if klarna_pos::ffi::journal::kpos_journal_pending(client, &mut out) == KPOS_OK {
            klarna_pos::ffi::kpos_string_free(out);
        }
        REENTRANT_CALLS.fetch_add(1, Ordering::SeqCst);
    }
    INSIDE.with(|i| i.set(false));
}

/// The callback may call the library while the journal is logging a torn line (the journal's
/// lock is not held during the call).
#[test]
fn a_log_callback_may_call_the_journal_it_is_logging_about() {
    let _serial = serial();
    let sim = Sim::start();
    let dir = scratch_dir("journal-reentrant");
    let client = Client::new(&journal_config(&sim, &dir)).unwrap();
    REENTRANT_CLIENT.store(client.0 as usize, Ordering::SeqCst);
    REENTRANT_CALLS.store(0, Ordering::SeqCst);
    assert_eq!(
        set_log(Some(reentrant), std::ptr::null_mut(), KPOS_LOG_DEBUG),
        KPOS_OK
    );
    // A torn line appended behind the library's back: the next read warns about it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("klarna-pos.journal"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"op\":\"clo").unwrap();
    let c = client.0 as usize;
    let pending = must_return("kpos_journal_pending", Duration::from_secs(60), move || {
        let mut out = std::ptr::null_mut();
        unsafe {
            klarna_pos::ffi::journal::kpos_journal_pending(
                c as *mut klarna_pos::ffi::client::kpos_client,
                &mut out,
            )
        }
    });
    set_log(None, std::ptr::null_mut(), KPOS_LOG_DEBUG);
    REENTRANT_CLIENT.store(0, Ordering::SeqCst);
    assert_eq!(pending, KPOS_OK);
    assert!(
        REENTRANT_CALLS.load(Ordering::SeqCst) > 0,
        "the callback ran"
    );
}

/// Count of calls inside the "old" callback right now, and calls that began after it was
/// removed.
static OLD_RUNNING: AtomicUsize = AtomicUsize::new(0);
static OLD_REMOVED: AtomicBool = AtomicBool::new(false);
static OLD_LATE: AtomicUsize = AtomicUsize::new(0);
static OLD_CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn slow_old(_u: *mut c_void, _level: u32, _message: *const c_char) {
    OLD_RUNNING.fetch_add(1, Ordering::SeqCst);
    OLD_CALLS.fetch_add(1, Ordering::SeqCst);
    if OLD_REMOVED.load(Ordering::SeqCst) {
        OLD_LATE.fetch_add(1, Ordering::SeqCst);
    }
    // A slow callback (a log file on a busy disk).
    std::thread::sleep(Duration::from_millis(2));
    OLD_RUNNING.fetch_sub(1, Ordering::SeqCst);
}

unsafe extern "C" fn quiet(_u: *mut c_void, _level: u32, _message: *const c_char) {}

/// When kpos_set_log_callback returns, the previous callback is not running on any thread and
/// is never called again (its userdata may be freed).
#[test]
fn a_replaced_callback_is_not_running_when_the_set_returns() {
    let _serial = serial();
    let sim = Sim::start();
    let config = sim.config_json(json!({}));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let loggers: Vec<_> = (0..4)
        .map(|_| {
            let (config, stop) = (config.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    // Each client logs a line at INFO.
                    drop(Client::new(&config).unwrap());
                }
            })
        })
        .collect();
    let mut running_after_set = 0;
    let rounds = 50;
    for _ in 0..rounds {
        OLD_REMOVED.store(false, Ordering::SeqCst);
        assert_eq!(
            set_log(Some(slow_old), std::ptr::null_mut(), KPOS_LOG_INFO),
            KPOS_OK
        );
        until("the callback is called", || {
            OLD_CALLS.load(Ordering::SeqCst) > 0
        });
        OLD_CALLS.store(0, Ordering::SeqCst);
        assert_eq!(
            set_log(Some(quiet), std::ptr::null_mut(), KPOS_LOG_INFO),
            KPOS_OK
        );
        OLD_REMOVED.store(true, Ordering::SeqCst);
        running_after_set += OLD_RUNNING.load(Ordering::SeqCst);
    }
    stop.store(true, Ordering::SeqCst);
    for t in loggers {
        t.join().unwrap();
    }
    set_log(None, std::ptr::null_mut(), KPOS_LOG_INFO);
    println!(
        "{rounds} replacements: calls still running after the set returned {running_after_set}, \
         calls begun after it {}",
        OLD_LATE.load(Ordering::SeqCst)
    );
    assert_eq!(running_after_set, 0);
    assert_eq!(OLD_LATE.load(Ordering::SeqCst), 0);
}

static SELF_REPLACED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn replaces_itself(_u: *mut c_void, _level: u32, _message: *const c_char) {
    SELF_REPLACED.fetch_add(1, Ordering::SeqCst);
    let _ = kpos_set_log_callback(Some(quiet), std::ptr::null_mut(), KPOS_LOG_INFO);
}

/// A callback that replaces the callback (itself) does not deadlock: the replacement takes
/// effect for the following lines and the call returns without waiting for itself.
#[test]
fn a_callback_may_replace_itself() {
    let _serial = serial();
    let sim = Sim::start();
    let config = sim.config_json(json!({}));
    SELF_REPLACED.store(0, Ordering::SeqCst);
    assert_eq!(
        set_log(Some(replaces_itself), std::ptr::null_mut(), KPOS_LOG_INFO),
        KPOS_OK
    );
    must_return(
        "a client whose log line replaces the callback",
        Duration::from_secs(60),
        move || {
            for _ in 0..3 {
                drop(Client::new(&config).unwrap());
            }
        },
    );
    set_log(None, std::ptr::null_mut(), KPOS_LOG_INFO);
    assert_eq!(
        SELF_REPLACED.load(Ordering::SeqCst),
        1,
        "replaced after its first line"
    );
}

// ---- odd configuration ---------------------------------------------------------------------

fn refusal(config: serde_json::Value) -> (u32, String, String) {
    let f = Client::new(&config.to_string()).unwrap_err();
    (
        f.code,
        f.detail["field"].as_str().unwrap_or("").to_string(),
        f.detail["message"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn ports_outside_1_to_65535_are_refused() {
    for url in [
        "http://127.0.0.1:99999",
        "http://127.0.0.1:0",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:-1",
        "http://127.0.0.1:8x",
        "https://api.klarna.com:",
    ] {
        let (code, field, message) =
            refusal(json!({"api_url": url, "username": "u", "password": "p"}));
        println!("{url}: {message}");
        assert_eq!(code, KPOS_E_INVALID_ARGUMENT, "{url}");
        assert_eq!(field, "api_url", "{url}");
    }
    for url in [
        "http://127.0.0.1:1",
        "http://127.0.0.1:65535",
        "http://[::1]:8080",
    ] {
        Client::new(&json!({"api_url": url, "username": "u", "password": "p"}).to_string())
            .unwrap_or_else(|f| panic!("{url}: {:?}", f.detail));
    }
}

#[test]
fn internationalised_host_names_are_refused_with_their_ascii_form_asked_for() {
    for (key, url) in [
        ("api_url", "https://bücher.example"),
        ("api_url", "https://ｅxample.com"),
        ("webhook_url", "https://bücher.example/hook"),
        ("proxy", "http://prøxy.example:3128"),
    ] {
        let mut cfg =
            json!({"api_url": "https://api.klarna.com", "username": "u", "password": "p"});
        cfg[key] = json!(url);
        let (code, field, message) = refusal(cfg);
        println!("{key} {url}: {message}");
        assert_eq!(code, KPOS_E_INVALID_ARGUMENT, "{url}");
        assert_eq!(field, key, "{url}");
        assert!(message.contains("xn--"), "{message}");
    }
    // The ASCII (punycode) form is accepted.
    Client::new(
        &json!({"api_url": "https://xn--bcher-kva.example", "username": "u", "password": "p"})
            .to_string(),
    )
    .unwrap();
}

#[test]
fn a_username_with_a_colon_is_refused() {
    let (code, field, message) =
        refusal(json!({"api_url": "https://api.klarna.com", "username": "PK1:x", "password": "p"}));
    println!("{message}");
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(field, "username");
    assert!(message.contains(':'), "{message}");
}

// ---- credentials go only where api_url points ----------------------------------------------

/// A listener that counts the connections it is offered (it never answers).
struct Trap {
    listener: std::net::TcpListener,
}

impl Trap {
    fn bind() -> Trap {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Trap { listener }
    }
    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }
    fn connections(&self) -> usize {
        let mut n = 0;
        while self.listener.accept().is_ok() {
            n += 1;
        }
        n
    }
}

#[test]
fn a_resumed_result_url_on_another_origin_is_refused_and_nothing_is_sent() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    let good = s.result_url();
    let path = &good[good.find("/instore").unwrap()..];
    let trap = Trap::bind();
    let sim_port = sim.url.rsplit(':').next().unwrap().to_string();
    for foreign in [
        format!("http://127.0.0.1:{}{}", trap.port(), path),
        format!("http://localhost:{}{}", sim_port, path),
        format!("https://127.0.0.1:{}{}", sim_port, path),
    ] {
        let refused = client.resume(&s.id(), &foreign).unwrap_err();
        println!("{foreign}: {}", refused.detail["message"]);
        assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT, "{foreign}");
        assert_eq!(refused.detail["field"], "result_url", "{foreign}");
    }
    assert_eq!(
        trap.connections(),
        0,
        "nothing reached the foreign listener"
    );
    // The same origin, spelled with its default port or another case, is the API host.
    let resumed = client
        .resume(
            &s.id(),
            &good.replace("http://127.0.0.1", "HTTP://127.0.0.1"),
        )
        .unwrap();
    assert_eq!(resumed.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}

/// A journal record planted with a foreign result_url is listed, but resuming it is refused
/// before anything is sent.
#[test]
fn a_journal_planted_result_url_is_refused_and_nothing_is_sent() {
    let sim = Sim::start();
    let dir = scratch_dir("journal-planted");
    let trap = Trap::bind();
    let planted = format!("http://127.0.0.1:{}/steal?dt=x", trap.port());
    write_journal(
        &dir,
        &format!(
            "{{\"op\":\"open\",\"id\":\"p\",\"kind\":\"session\",\"created_at\":\"x\",\"created_unix\":1,\"order_amount\":1,\"merchant_reference1\":null}}\n{{\"op\":\"session\",\"id\":\"p\",\"session_id\":\"s-planted\",\"result_url\":\"{planted}\"}}\n"
        ),
    );
    let client = Client::new(&journal_config(&sim, &dir)).unwrap();
    let pending = client.pending().unwrap();
    let record = pending
        .iter()
        .find(|r| r["session_id"] == "s-planted")
        .unwrap();
    let refused = client
        .resume("s-planted", record["result_url"].as_str().unwrap())
        .unwrap_err();
    println!("{}", refused.detail["message"]);
    assert_eq!(refused.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(refused.detail["field"], "result_url");
    assert_eq!(trap.connections(), 0, "the credentials were not sent");
}

// ---- every time bound holds, under concurrency too -----------------------------------------

const REQUEST_TIMEOUT_MS: u64 = 1000;

fn bounded_client(sim: &Sim, extra: serde_json::Value) -> Client {
    let mut cfg = json!({"request_timeout_ms": REQUEST_TIMEOUT_MS, "max_retries": 2});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    Client::new(&sim.config_json(cfg)).unwrap()
}

/// 120 threads wait 300 ms each on sessions of one client whose pacing (40 status reads a
/// second) cannot serve them all in time: every wait still returns within its timeout plus one
/// request timeout (the documented bound), with KPOS_E_TIMEOUT.
#[test]
fn waits_of_120_threads_under_pacing_keep_their_bound() {
    let sim = Sim::start();
    let client = bounded_client(&sim, json!({"max_safe_requests_per_second": 40}));
    let sessions: Vec<Session> = (0..120).map(|_| client.create(&order()).unwrap()).collect();
    // Each session is DISTRIBUTED once polled; a first wait reports that, the timed one waits.
    let wait_ms = 300u32;
    let barrier = std::sync::Barrier::new(sessions.len());
    let results: Vec<(u32, u128)> = std::thread::scope(|scope| {
        let handles: Vec<_> = sessions
            .iter()
            .map(|s| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let mut code = KPOS_OK;
                    // Until the status stops changing (the first wait reports DISTRIBUTED);
                    // every wait is timed.
                    let mut elapsed = 0;
                    for _ in 0..3 {
                        let t = std::time::Instant::now();
                        let r = s.wait(wait_ms);
                        elapsed = elapsed.max(t.elapsed().as_millis());
                        if let Err((f, _)) = r {
                            code = f.code;
                            break;
                        }
                    }
                    (code, elapsed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let worst = results.iter().map(|r| r.1).max().unwrap();
    let bound = u128::from(wait_ms) + u128::from(REQUEST_TIMEOUT_MS);
    report(
        "time-bounds",
        &format!("120 waits of {wait_ms} ms under pacing: slowest returned after {worst} ms (bound {bound} ms)"),
    );
    for (code, elapsed) in &results {
        assert!(
            *code == KPOS_E_TIMEOUT || *code == KPOS_E_RATE_LIMITED,
            "code {code}"
        );
        assert!(
            *elapsed <= bound,
            "a wait returned after {elapsed} ms, beyond {bound} ms"
        );
    }
}

/// A cancel on another thread stuck on a DELETE that never answers: the wait it interrupts
/// returns KPOS_E_CANCELLED within its timeout plus one request timeout.
#[test]
fn a_wait_returns_in_time_while_a_cancel_hangs_on_its_delete() {
    let sim = Sim::start();
    let client = bounded_client(&sim, json!({}));
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.fault(json!({"mode": "stall", "method": "DELETE", "stall_ms": 60000, "count": 100}));
    let wait_ms = 1000u32;
    let (code, elapsed) = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let t = std::time::Instant::now();
            let r = s.wait(wait_ms);
            (
                r.map(|_| KPOS_OK).unwrap_or_else(|(f, _)| f.code),
                t.elapsed().as_millis(),
            )
        });
        let polls = sim.stat("polls");
        until("the wait reads the status", || sim.stat("polls") > polls);
        let canceller = scope.spawn(|| s.cancel());
        let out = waiter.join().unwrap();
        // The cancel itself is bounded by its own request timeouts.
        let _ = canceller.join().unwrap();
        out
    });
    let bound = u128::from(wait_ms) + u128::from(REQUEST_TIMEOUT_MS);
    report(
        "time-bounds",
        &format!("wait of {wait_ms} ms with a cancel stuck on its DELETE: returned after {elapsed} ms (bound {bound} ms)"),
    );
    assert_eq!(code, KPOS_E_CANCELLED);
    assert!(
        elapsed <= bound,
        "returned after {elapsed} ms, beyond {bound} ms"
    );
}

/// After a 429 with Retry-After: 60, a wait of 3 s sends no further status read and returns
/// KPOS_E_TIMEOUT at its own deadline (a webhook could still have brought the change), not
/// KPOS_E_RATE_LIMITED; a poll right after sends nothing and says how long Klarna asked to wait.
#[test]
fn a_retry_after_beyond_the_deadline_holds_the_reads_until_the_wait_times_out() {
    let sim = Sim::start();
    let client = bounded_client(&sim, json!({}));
    let s = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "rate_limit", "retry_after": 60, "count": 1000, "method": "GET"}));
    let polls = sim.stat("polls");
    let t = std::time::Instant::now();
    let (failure, _) = s.wait(3000).unwrap_err();
    let elapsed = t.elapsed().as_millis();
    let reads = sim.stat("polls") - polls;
    report(
        "time-bounds",
        &format!("wait of 3000 ms under Retry-After: 60: {reads} status read(s), returned after {elapsed} ms"),
    );
    assert_eq!(failure.code, KPOS_E_TIMEOUT, "{:?}", failure.detail);
    assert!(
        elapsed >= 3000,
        "returned after {elapsed} ms, before its deadline"
    );
    let message = failure.detail["message"].as_str().unwrap();
    assert!(message.contains("KPOS_E_RATE_LIMITED"), "{message}");
    assert_eq!(reads, 1, "one read, then nothing before Retry-After");
    let again = s.poll().unwrap_err();
    assert_eq!(again.code, KPOS_E_RATE_LIMITED);
    let left = again.detail["retry_after_ms"].as_u64().unwrap();
    // What is left of the 60 s: the wait's 3 s have passed since its first read got the 429.
    assert!(left > 0 && left < 58_000, "retry_after_ms {left}");
    assert_eq!(
        sim.stat("polls") - polls,
        1,
        "a poll within Retry-After sends nothing"
    );
}

/// Retry-After shorter than the wait: the next status read comes no sooner than it says.
#[test]
fn a_retry_after_within_the_wait_is_waited_out_before_the_next_read() {
    let sim = Sim::start();
    let client = bounded_client(&sim, json!({}));
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "approve", None);
    sim.fault(json!({"mode": "rate_limit", "retry_after": 2, "count": 1, "method": "GET"}));
    let polls = sim.stat("polls");
    let t = std::time::Instant::now();
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_COMPLETED);
    let elapsed = t.elapsed().as_millis();
    report(
        "time-bounds",
        &format!("Retry-After: 2 within a wait: next read after {elapsed} ms"),
    );
    assert_eq!(
        sim.stat("polls") - polls,
        2,
        "the refused read and one after Retry-After"
    );
    assert!(
        elapsed >= 2000,
        "the second read came {elapsed} ms after the 429"
    );
}

/// 200 identical COMPLETED callbacks at once: each verify returns within request_timeout_ms,
/// all confirm COMPLETED, and they share one confirming GET.
#[test]
fn two_hundred_identical_callbacks_share_one_confirmation_in_time() {
    let sim = Sim::start();
    let client = bounded_client(
        &sim,
        json!({"webhook_url": "http://127.0.0.1:9/klarna/status", "request_timeout_ms": 2000}),
    );
    let s = client.create(&order()).unwrap();
    let url = sim.session(&s.id())["callback_url"]
        .as_str()
        .unwrap()
        .to_string();
    let request = url[url.find("/klarna").unwrap()..].to_string();
    sim.act(&s.id(), "approve", Some(json!({"order_id": "o-200"})));
    let polls = sim.session(&s.id())["polls"].as_u64().unwrap();
    let body = json!({"status": "COMPLETED", "order_id": "o-200"}).to_string();
    let barrier = std::sync::Barrier::new(200);
    let results: Vec<(u32, u32, u128)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..200)
            .map(|_| {
                let (barrier, request, body, client) = (&barrier, &request, &body, &client);
                scope.spawn(move || {
                    barrier.wait();
                    let t = std::time::Instant::now();
                    let mut status = 0;
                    let mut id = std::ptr::null_mut();
                    let code = unsafe {
                        klarna_pos::ffi::webhook::kpos_webhook_verify(
                            client.0,
                            request.as_ptr(),
                            request.len(),
                            body.as_ptr(),
                            body.len(),
                            &mut id,
                            &mut status,
                        )
                    };
                    unsafe { klarna_pos::ffi::kpos_string_free(id) };
                    (code, status, t.elapsed().as_millis())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let gets = sim.session(&s.id())["polls"].as_u64().unwrap() - polls;
    let worst = results.iter().map(|r| r.2).max().unwrap();
    report(
        "time-bounds",
        &format!("200 identical callbacks: {gets} confirming GET(s), slowest verify {worst} ms (bound 2000 ms)"),
    );
    for (code, status, _) in &results {
        assert_eq!((*code, *status), (KPOS_OK, KPOS_STATUS_COMPLETED));
    }
    assert_eq!(gets, 1, "one GET confirmed them all");
    assert!(worst <= 2000, "a verify took {worst} ms");
}

// ---- what the operating system and the network may do -------------------------------------

/// A one-connection-at-a-time HTTP server that answers every request with `answer` (called
/// with the stream after the request head was read), standing in for a hostile API host.
fn hostile_server(answer: fn(&mut std::net::TcpStream)) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match std::io::Read::read(&mut stream, &mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                answer(&mut stream);
            });
        }
    });
    url
}

fn poll_hostile(answer: fn(&mut std::net::TcpStream), what: &str) {
    let url = hostile_server(answer);
    let client = Client::new(
        &json!({"api_url": url, "username": "u", "password": "p", "max_retries": 0,
                "request_timeout_ms": REQUEST_TIMEOUT_MS})
        .to_string(),
    )
    .unwrap();
    let s = client
        .resume("s-1", &format!("{url}/instore/v1/d/s-1?dt=x"))
        .unwrap();
    let t = std::time::Instant::now();
    let failure = s.poll().unwrap_err();
    let elapsed = t.elapsed().as_millis();
    report(
        "time-bounds",
        &format!(
            "{what}: {} after {elapsed} ms (bound {REQUEST_TIMEOUT_MS} ms)",
            failure.detail["name"]
        ),
    );
    println!("{what}: {}", failure.detail["message"]);
    assert!(
        [KPOS_E_PROTOCOL, KPOS_E_NETWORK, KPOS_E_TIMEOUT].contains(&failure.code),
        "{what}: {:?}",
        failure.detail
    );
    assert!(
        elapsed <= u128::from(REQUEST_TIMEOUT_MS) + 500,
        "{what}: the poll took {elapsed} ms, beyond request_timeout_ms"
    );
}

/// A server that sends a body without end: the poll fails (the body limit or the request
/// timeout) instead of reading forever.
#[test]
fn an_endless_body_is_cut_off() {
    poll_hostile(
        |s| {
            let _ = std::io::Write::write_all(
                s,
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
            );
            let chunk = vec![b'1'; 64 * 1024];
            while std::io::Write::write_all(s, &chunk).is_ok() {}
        },
        "endless body",
    );
}

/// A server that sends header lines without end: the poll fails instead of buffering them.
#[test]
fn endless_headers_are_cut_off() {
    poll_hostile(
        |s| {
            let _ = std::io::Write::write_all(s, b"HTTP/1.1 200 OK\r\n");
            let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
            while std::io::Write::write_all(s, line.as_bytes()).is_ok() {}
        },
        "endless headers",
    );
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Signals delivered to a waiting thread (a till's timer, SIGCHLD of a printer helper)
/// interrupt system calls with EINTR: the wait neither fails nor returns early.
#[cfg(unix)]
#[test]
fn signals_during_a_wait_do_not_end_it() {
    let sim = Sim::start();
    let client = bounded_client(&sim, json!({}));
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    // A handler without SA_RESTART: every interrupted system call returns EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    let wait_ms = 1500u32;
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let (code, elapsed, signals) = std::thread::scope(|scope| {
        let d = done.clone();
        let (tx, rx) = mpsc::channel();
        let waiter = scope.spawn(move || {
            tx.send(unsafe { libc::pthread_self() }).unwrap();
            let t = std::time::Instant::now();
            let r = s.wait(wait_ms);
            d.store(true, Ordering::SeqCst);
            (
                r.map(|_| KPOS_OK).unwrap_or_else(|(f, _)| f.code),
                t.elapsed().as_millis(),
            )
        });
        let thread = rx.recv().unwrap();
        let mut signals = 0;
        while !done.load(Ordering::SeqCst) {
            unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
            signals += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        let (code, elapsed) = waiter.join().unwrap();
        (code, elapsed, signals)
    });
    println!("{signals} signals during a wait of {wait_ms} ms: code {code} after {elapsed} ms");
    assert_eq!(code, KPOS_E_TIMEOUT, "the wait ran to its timeout");
    assert!(
        elapsed >= u128::from(wait_ms),
        "returned early, after {elapsed} ms"
    );
}

static LOGGED_SESSION: AtomicUsize = AtomicUsize::new(0);
static STATUS_FROM_CALLBACK: AtomicUsize = AtomicUsize::new(0);

/// Reads the status of the session being logged, from inside the callback.
unsafe extern "C" fn reads_the_session(_u: *mut c_void, _level: u32, message: *const c_char) {
    let s = LOGGED_SESSION.load(Ordering::SeqCst) as *mut kpos_session;
    if !s.is_null()
        && CStr::from_ptr(message)
            .to_string_lossy()
            .contains("session")
    {
        kpos_session_status(s);
        STATUS_FROM_CALLBACK.fetch_add(1, Ordering::SeqCst);
    }
}

/// A callback that reads the session being logged while kpos_session_poll merges its new
/// status (the session's lock is not held during the call).
#[test]
fn a_log_callback_may_read_the_session_being_polled() {
    let _serial = serial();
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    LOGGED_SESSION.store(s.0 as usize, Ordering::SeqCst);
    STATUS_FROM_CALLBACK.store(0, Ordering::SeqCst);
    assert_eq!(
        set_log(
            Some(reads_the_session),
            std::ptr::null_mut(),
            KPOS_LOG_DEBUG
        ),
        KPOS_OK
    );
    let handle = s.0 as usize;
    let polled = must_return("kpos_session_poll", Duration::from_secs(60), move || {
        let mut status = 0;
        let code = unsafe { kpos_session_poll(handle as *mut kpos_session, &mut status) };
        (code, status)
    });
    set_log(None, std::ptr::null_mut(), KPOS_LOG_DEBUG);
    LOGGED_SESSION.store(0, Ordering::SeqCst);
    assert_eq!(polled, (KPOS_OK, KPOS_STATUS_DISTRIBUTED));
    assert!(
        STATUS_FROM_CALLBACK.load(Ordering::SeqCst) > 0,
        "the callback read the session"
    );
}
