//! The C programs: each test program in `tests/c/` and the C till of `examples/c/` is compiled
//! with gcc against the shared library (warnings are errors) and run against a fresh simulator;
//! so is the C++ test program of `include/klarna_pos.hpp` in `tests/cpp/`, with g++ -std=c++11.
//! A test program passes when it exits 0 with at least one `ok - ` line and no `not ok - `.
//!
//! The same programs also run compiled with clang-14 `-fsanitize=address,undefined` (every
//! program; any sanitizer report fails) and under valgrind (the programs in VALGRIND, chosen
//! below; any error or definite leak fails). The library itself is not instrumented by clang
//! (that needs a nightly Rust), but ASan's allocator checks every malloc/free of the process,
//! the library's included, and valgrind checks the whole process. Without clang-14 or valgrind
//! those tests print why they are skipped, unless KPOS_REQUIRE_SANITIZERS=1 (set by tests/run),
//! which makes a missing tool a failure.

mod common;

use std::env;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{compile_c, compile_cpp, compile_program, Sim, PASSWORD, USER};

/// Every program in tests/c, each run by the #[test] of the same name below.
const PROGRAMS: &[&str] = &[
    "adversarial_fork",
    "api_basics",
    "cancel_wait",
    "connection_reuse",
    "corpus",
    "failures",
    "misuse",
    "order_states",
    "payment_flow",
    "version",
    "watch_events",
    "wide_strings",
];

/// Programs run under valgrind: the ones that exercise the most code paths with the least
/// waiting. Valgrind runs a program 20-50 times slower and serialises its threads, so the
/// programs that measure how fast a cancel releases a wait (cancel_wait, payment_flow) would
/// fail their own timing checks, and connection_reuse and failures add little beyond these:
/// corpus (every bad input, every NULL, freed handle and double free), misuse (the same
/// misuse through the ordinary API) and api_basics (static strings, last-error lifetimes,
/// a second thread), and wide_strings (every buffer of the `_w` layer written to its limit).
/// Not adversarial_fork: a child forked while other threads are busy inherits
/// memory those threads owned, which valgrind reports as definitely lost in every child (ASan
/// runs it, with the parent's leaks checked).
const VALGRIND: &[&str] = &["api_basics", "corpus", "misuse", "wide_strings"];

/// A program that runs longer than this is killed and fails.
const PROGRAM_TIME_LIMIT: Duration = Duration::from_secs(300);

/// How a program is built and started.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Toolchain {
    /// gcc, run directly.
    Gcc,
    /// clang-14 with AddressSanitizer and UBSan, run directly.
    Sanitizers,
    /// gcc with debug information, run under valgrind.
    Valgrind,
}

impl Toolchain {
    fn suffix(self) -> &'static str {
        match self {
            Toolchain::Gcc => "",
            Toolchain::Sanitizers => "-asan",
            Toolchain::Valgrind => "-valgrind",
        }
    }

    /// The tool this toolchain needs, when it is missing.
    fn missing_tool(self) -> Option<&'static str> {
        let tool = match self {
            Toolchain::Gcc => return None,
            Toolchain::Sanitizers => "clang-14",
            Toolchain::Valgrind => "valgrind",
        };
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!found).then_some(tool)
    }
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Compiles tests/c/<name>.c with the toolchain, into target/c-programs/<name><suffix>.
fn compile_with(name: &str, toolchain: Toolchain) -> PathBuf {
    let source = format!("tests/c/{}.c", name);
    let out = format!("{}{}", name, toolchain.suffix());
    let mut flags: Vec<String> = match toolchain {
        Toolchain::Gcc => vec![],
        Toolchain::Sanitizers => [
            "-g",
            "-O1",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
        ]
        .map(String::from)
        .to_vec(),
        Toolchain::Valgrind => vec!["-g".into(), "-O1".into()],
    };
    flags.extend(program_defines(name));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let compiler = match toolchain {
        Toolchain::Sanitizers => PathBuf::from("clang-14"),
        _ => std::env::var_os("CC")
            .map(PathBuf::from)
            .unwrap_or_else(|| common::tool("gcc", "gcc")),
    };
    compile_program(&compiler, "-std=c99", &flags, &source, &out)
}

/// Definitions a program needs from the build: version.c compares the header with Cargo.toml.
fn program_defines(name: &str) -> Vec<String> {
    if name != "version" {
        return Vec::new();
    }
    let part = |s: &str| -> u32 { s.parse().unwrap() };
    let number = part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"));
    vec![
        format!("-DEXPECTED_VERSION=\"{}\"", env!("CARGO_PKG_VERSION")),
        format!("-DEXPECTED_VERSION_NUMBER={}", number),
    ]
}

/// Runs `exe` with the simulator's address and the test credentials in the environment,
/// within PROGRAM_TIME_LIMIT; stdout and stderr are also kept next to it as <name>.out/.err.
fn run(exe: &Path, args: &[&str], sim: &Sim) -> Output {
    run_with(exe, args, sim, Toolchain::Gcc)
}

/// Exit status valgrind gives a program with errors or definite leaks.
const VALGRIND_ERROR_EXIT: i32 = 99;

fn run_with(exe: &Path, args: &[&str], sim: &Sim, toolchain: Toolchain) -> Output {
    let name = exe.file_name().unwrap().to_string_lossy().to_string();
    let out_path = exe.with_file_name(format!("{}.out", name));
    let err_path = exe.with_file_name(format!("{}.err", name));
    let mut command = match toolchain {
        Toolchain::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args([
                "--quiet",
                &format!("--error-exitcode={VALGRIND_ERROR_EXIT}"),
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite",
            ])
            .arg(exe);
            c
        }
        _ => Command::new(exe),
    };
    if toolchain == Toolchain::Valgrind {
        // The multi-megabyte inputs take minutes under valgrind; ASan runs them all.
        command.env("KPOS_CORPUS_MAX_BYTES", "65536");
    }
    if toolchain == Toolchain::Sanitizers {
        command
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=98",
            )
            .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    }
    let mut child = command
        .args(args)
        .current_dir(ROOT)
        .env("KLARNA_API_URL", &sim.url)
        .env("KLARNA_USERNAME", USER)
        .env("KLARNA_PASSWORD", PASSWORD)
        .env_remove("KLARNA_USER_AGENT")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{} cannot be started: {}", exe.display(), e));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the program can be waited for") {
            break status;
        }
        if started.elapsed() > PROGRAM_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} ran longer than {:?}", name, PROGRAM_TIME_LIMIT);
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: fs::read(&out_path).unwrap_or_default(),
        stderr: fs::read(&err_path).unwrap_or_default(),
    };
    // Shown by the test harness when the test fails (or with --nocapture).
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Compiles and runs tests/c/<name>.c against its own simulator.
fn run_c_test(name: &str) {
    run_c_test_with(name, Toolchain::Gcc);
}

/// The same under a checking toolchain: also fails on any sanitizer or valgrind report, and
/// records the run time and the verdict in target/hardening/c-checks.txt.
fn run_c_test_with(name: &str, toolchain: Toolchain) {
    if let Some(tool) = toolchain.missing_tool() {
        let required = env::var("KPOS_REQUIRE_SANITIZERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{tool} is not installed (KPOS_REQUIRE_SANITIZERS=1)"
        );
        eprintln!("skipped: {tool} is not installed (tests/run installs it)");
        return;
    }
    let exe = compile_with(name, toolchain);
    check_program(&exe, name, toolchain);
}

/// Runs a compiled test program against its own simulator: it passes when it exits 0 with at
/// least one `ok - ` line, no `not ok - ` and no sanitizer or valgrind report.
fn check_program(exe: &Path, name: &str, toolchain: Toolchain) {
    let sim = Sim::start();
    let started = Instant::now();
    let out = run_with(exe, &[], &sim, toolchain);
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("ERROR: AddressSanitizer")
                || l.contains("ERROR: LeakSanitizer")
                || l.contains("runtime error:")
                || l.contains("definitely lost")
                || l.contains("Invalid read")
                || l.contains("Invalid write")
                || l.contains("Invalid free")
                || l.contains("uninitialised")
        })
        .collect();
    if toolchain != Toolchain::Gcc {
        common::report(
            "c-checks",
            &format!(
                "{:<10} {:<16} exit {:<4} reports {:<3} {:>6} ms",
                match toolchain {
                    Toolchain::Sanitizers => "asan+ubsan",
                    _ => "valgrind",
                },
                name,
                out.status.code().map_or("sig".into(), |c| c.to_string()),
                reports.len(),
                elapsed.as_millis()
            ),
        );
    }
    assert!(reports.is_empty(), "{} reported:\n{}", name, stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("not ok")).collect();
    assert!(failed.is_empty(), "{} failed:\n{}", name, failed.join("\n"));
    assert!(
        stdout.lines().any(|l| l.starts_with("ok - ")),
        "{} reported no checks",
        name
    );
    assert!(out.status.success(), "{} exited with {}", name, out.status);
}

/// A forking till: parent and child never share a connection or an answer, and a fork amid
/// busy threads never leaves the child stuck on a library lock.
#[test]
fn adversarial_fork() {
    run_c_test("adversarial_fork");
}

#[test]
fn api_basics() {
    run_c_test("api_basics");
}

#[test]
fn cancel_wait() {
    run_c_test("cancel_wait");
}

#[test]
fn connection_reuse() {
    run_c_test("connection_reuse");
}

#[test]
fn corpus() {
    run_c_test("corpus");
}

#[test]
fn failures() {
    run_c_test("failures");
}

#[test]
fn misuse() {
    run_c_test("misuse");
}

/// Klarna's 403 NOT_ALLOWED (a release without captures or on a cancelled order) and
/// CANCEL_NOT_ALLOWED reach C as KPOS_E_CONFLICT.
#[test]
fn order_states() {
    run_c_test("order_states");
}

#[test]
fn payment_flow() {
    run_c_test("payment_flow");
}

/// The header's KPOS_VERSION, KPOS_VERSION_MAJOR/MINOR/PATCH and the composed
/// KPOS_VERSION_NUMBER equal Cargo.toml's version, and kpos_version() agrees at run time.
#[test]
fn version() {
    run_c_test("version");
}

#[test]
fn watch_events() {
    run_c_test("watch_events");
}

/// A till speaking only the `_w` layer (UTF-16 in, caller's buffers out) pays, captures and
/// refunds with non-ASCII text reaching the simulator intact.
#[test]
fn wide_strings() {
    run_c_test("wide_strings");
}

/// The shared library exports the C API and nothing else: every defined dynamic symbol starts
/// with `kpos_` (Rust's cdylib linking hides the Rust standard library and dependencies), so a
/// till linking other Rust or C libraries meets no clashing names.
#[test]
fn shared_library_exports_only_kpos_symbols() {
    let so = common::library_dir().join("libklarna_pos.so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("nm (binutils) runs");
    assert!(out.status.success(), "nm failed on {}", so.display());
    let symbols: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    let foreign: Vec<&String> = symbols.iter().filter(|s| !s.starts_with("kpos_")).collect();
    assert!(foreign.is_empty(), "exported besides kpos_*: {:?}", foreign);
    for expected in ["kpos_version", "kpos_client_new", "kpos_session_create"] {
        assert!(
            symbols.iter().any(|s| s == expected),
            "{} is exported",
            expected
        );
    }
}

/// The C++ RAII header: payment flow, UTF-8 both ways, errors with detail, timeout, cancel
/// from another thread, moved-from objects.
#[test]
fn cpp_header() {
    let exe = compile_cpp("tests/cpp/klarna_pos_hpp.cpp", "klarna_pos_hpp");
    check_program(&exe, "klarna_pos_hpp", Toolchain::Gcc);
}

/// The C till takes a payment the simulator's automatic customer approves, printing the
/// command-line contract's lines in order. The customer scans 2 s and approves 4 s after the
/// first poll: with the till's 1 s polling, each status is seen at least once.
#[test]
fn c_till_takes_a_payment() {
    let exe = compile_c("examples/c/till.c", "till");
    let sim = Sim::start_with(&["--customer", "auto", "--auto-delay-ms", "4000"]);
    let out = run(
        &exe,
        &["examples/orders/se_coffee.json", "--timeout-ms", "60000"],
        &sim,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let keys = output_keys(stdout.lines());
    assert_eq!(keys, PAID_TILL_KEYS, "till output:\n{}", stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the till exits 0 after COMPLETED"
    );
}

/// `till --language sv`: the cashier's and the customer's texts of every status it shows, in
/// Swedish.
#[test]
fn c_till_speaks_the_cashiers_language() {
    let exe = compile_c("examples/c/till.c", "till_sv");
    let sim = Sim::start_with(&["--customer", "auto", "--auto-delay-ms", "4000"]);
    let out = run(
        &exe,
        &[
            "examples/orders/se_coffee.json",
            "--timeout-ms",
            "60000",
            "--language",
            "sv",
        ],
        &sim,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let texts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("display=") || l.starts_with("customer="))
        .collect();
    assert_eq!(
        texts,
        [
            "display=Skanna QR-koden med mobilen",
            "customer=Skanna QR-koden med mobilens kamera",
            "display=Betalning pågår",
            "customer=Bekräfta i Klarna-appen",
            "display=Betalningen är klar",
            "customer=Betalningen är godkänd. Tack!",
        ],
        "till output:\n{stdout}"
    );
    assert_eq!(out.status.code(), Some(0), "till output:\n{stdout}");
}

/// The event-driven till: statuses arrive through its listener and its poll() loop, in order,
/// in the language asked for; it exits 0 after COMPLETED. With --timeout-ms short of the
/// customer, its loop cancels and the final CANCELED still arrives through the listener.
#[test]
fn c_event_till_takes_a_payment_and_cancels_on_its_deadline() {
    let exe = compile_c("examples/c/event_till.c", "event_till");
    let sim = Sim::start_with(&["--customer", "auto", "--auto-delay-ms", "4000"]);
    let out = run(
        &exe,
        &["examples/orders/se_coffee.json", "--language", "de-AT"],
        &sim,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let keys = output_keys(
        stdout
            .lines()
            .filter(|l| !l.starts_with("display=") && !l.starts_with("customer=")),
    );
    assert_eq!(keys, PAID_TILL_KEYS, "event_till output:\n{stdout}");
    assert!(
        stdout.contains("display=Zahlung abgeschlossen\n"),
        "German texts:\n{stdout}"
    );
    assert_eq!(out.status.code(), Some(0), "exit 0 after COMPLETED");

    let sim = Sim::start_with(&["--customer", "manual"]);
    let out = run(
        &exe,
        &["examples/orders/se_coffee.json", "--timeout-ms", "500"],
        &sim,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with(
            "status=CANCELED\ndisplay=Payment is canceled\ncustomer=The payment was canceled\n"
        ),
        "the final status comes through the listener after the cancel:\n{stdout}"
    );
    assert_eq!(out.status.code(), Some(2), "exit 2: not paid");
}

/// Every program under AddressSanitizer and UBSan, one after the other (each is a whole
/// process with its own simulator; running them in sequence keeps the load of CI's two cores
/// steady).
#[test]
fn every_c_program_under_sanitizers() {
    for name in PROGRAMS {
        run_c_test_with(name, Toolchain::Sanitizers);
    }
}

/// The VALGRIND programs under valgrind, one after the other.
#[test]
fn chosen_c_programs_under_valgrind() {
    for name in VALGRIND {
        run_c_test_with(name, Toolchain::Valgrind);
    }
}

/// A new program in tests/c must get its #[test] here, or it would silently never run.
#[test]
fn every_c_program_is_run() {
    let mut found: Vec<String> = fs::read_dir(Path::new(ROOT).join("tests/c"))
        .expect("tests/c is readable")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().to_string();
            name.strip_suffix(".c").map(str::to_string)
        })
        .collect();
    found.sort();
    assert_eq!(found, PROGRAMS);
}

/// The keys a till prints for a paid sale, in order (status lines with their value).
const PAID_TILL_KEYS: [&str; 7] = [
    "session_id",
    "qr_url",
    "payment_link",
    "status=DISTRIBUTED",
    "status=ACCESSED",
    "status=COMPLETED",
    "order_id",
];

/// A till's `key=value` lines reduced to their keys, keeping status lines whole.
fn output_keys<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    lines
        .map(|l| match l.split_once('=') {
            Some(("status", _)) => l,
            Some((key, _)) => key,
            None => l,
        })
        .collect()
}
