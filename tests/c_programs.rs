//! The C programs: each test program in `tests/c/` and the C till of `examples/c/` is compiled
//! with gcc against the shared library (warnings are errors) and run against a fresh simulator;
//! so is the C++ test program of `include/klarna_pos.hpp` in `tests/cpp/`, with g++ -std=c++11.
//! A test program passes when it exits 0 with at least one `ok - ` line and no `not ok - `.

mod common;

use std::env;
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{compile_c, compile_cpp, Sim, PASSWORD, USER};

/// Every program in tests/c, each run by the #[test] of the same name below.
const PROGRAMS: &[&str] = &[
    "api_basics",
    "cancel_wait",
    "connection_reuse",
    "failures",
    "misuse",
    "payment_flow",
];

/// A program that runs longer than this is killed and fails.
const PROGRAM_TIME_LIMIT: Duration = Duration::from_secs(120);

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `exe` with the simulator's address and the test credentials in the environment,
/// within PROGRAM_TIME_LIMIT; stdout and stderr are also kept next to it as <name>.out/.err.
fn run(exe: &Path, args: &[&str], sim: &Sim) -> Output {
    let name = exe.file_name().unwrap().to_string_lossy().to_string();
    let out_path = exe.with_file_name(format!("{}.out", name));
    let err_path = exe.with_file_name(format!("{}.err", name));
    let mut child = Command::new(exe)
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
    let exe = compile_c(&format!("tests/c/{}.c", name), name);
    run_test_program(&exe, name);
}

/// Runs a compiled test program against its own simulator: it passes when it exits 0 with at
/// least one `ok - ` line and no `not ok - `.
fn run_test_program(exe: &Path, name: &str) {
    let sim = Sim::start();
    let out = run(exe, &[], &sim);
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
fn failures() {
    run_c_test("failures");
}

#[test]
fn misuse() {
    run_c_test("misuse");
}

#[test]
fn payment_flow() {
    run_c_test("payment_flow");
}

/// The C++ RAII header: payment flow, UTF-8 both ways, errors with detail, timeout, cancel
/// from another thread, moved-from objects.
#[test]
fn cpp_header() {
    let exe = compile_cpp("tests/cpp/klarna_pos_hpp.cpp", "klarna_pos_hpp");
    run_test_program(&exe, "klarna_pos_hpp");
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
    let keys: Vec<&str> = stdout
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("status", _)) => l,
            Some((key, _)) => key,
            None => l,
        })
        .collect();
    assert_eq!(
        keys,
        [
            "session_id",
            "qr_url",
            "payment_link",
            "status=DISTRIBUTED",
            "status=ACCESSED",
            "status=COMPLETED",
            "order_id",
        ],
        "till output:\n{}",
        stdout
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the till exits 0 after COMPLETED"
    );
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
