//! The C programs: each test program in `tests/c/` and the C till of `examples/c/` is compiled
//! with gcc against the shared library (warnings are errors) and run against a fresh simulator.
//! A test program passes when it exits 0 with at least one `ok - ` line and no `not ok - `.

mod common;

use std::env;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use common::{Sim, PASSWORD, USER};

/// Every program in tests/c, each run by the #[test] of the same name below.
const PROGRAMS: &[&str] = &[
    "api_basics",
    "cancel_wait",
    "connection_reuse",
    "failures",
    "misuse",
    "payment_flow",
    "version",
];

/// A program that runs longer than this is killed and fails.
const PROGRAM_TIME_LIMIT: Duration = Duration::from_secs(120);

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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

struct Build {
    /// Where cargo put libklarna_pos.so.
    profile_dir: PathBuf,
    /// target/ctests: the compiled programs and their output.
    out_dir: PathBuf,
}

fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => Path::new(ROOT).join(dir),
        None => Path::new(ROOT).join("target"),
    }
}

/// Builds the shared library once for all tests: cargo test does not promise the cdylib is
/// fresh. (The simulator is built by tests/common.)
fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let release = !cfg!(debug_assertions);
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "--lib"]).current_dir(ROOT);
        if release {
            cargo.arg("--release");
        }
        for (key, _) in env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_") || CARGO_RUNTIME_VARS.contains(&key.as_ref()) {
                cargo.env_remove(key.as_ref());
            }
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "cargo build --lib failed");
        let profile_dir = target_dir().join(if release { "release" } else { "debug" });
        let out_dir = target_dir().join("ctests");
        fs::create_dir_all(&out_dir).expect("target/ctests can be created");

        Build {
            profile_dir,
            out_dir,
        }
    })
}

/// Compiles one C file into target/ctests/<name>; panics with gcc's diagnostics on failure.
fn compile(source: &Path, name: &str) -> PathBuf {
    compile_with(source, name, &[])
}

/// `compile` with extra compiler arguments (e.g. `-D` definitions).
fn compile_with(source: &Path, name: &str, extra: &[String]) -> PathBuf {
    let b = build();
    let exe = b.out_dir.join(name);
    let cc = env::var("CC").unwrap_or_else(|_| "gcc".into());
    let out = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(Path::new(ROOT).join("include"))
        .arg("-I")
        .arg(Path::new(ROOT).join("tests/c"))
        .args(extra)
        .arg(source)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&b.profile_dir)
        .arg("-lklarna_pos")
        .arg(format!("-Wl,-rpath,{}", b.profile_dir.display()))
        .output()
        .unwrap_or_else(|e| panic!("{} cannot be started: {}", cc, e));
    assert!(
        out.status.success(),
        "{} does not compile cleanly:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs `exe` with the simulator's address and the test credentials in the environment,
/// within PROGRAM_TIME_LIMIT; stdout and stderr are also kept in target/ctests/<name>.out/.err.
fn run(exe: &Path, args: &[&str], sim: &Sim) -> Output {
    let b = build();
    let name = exe.file_name().unwrap().to_string_lossy().to_string();
    let out_path = b.out_dir.join(format!("{}.out", name));
    let err_path = b.out_dir.join(format!("{}.err", name));
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
    run_c_test_with(name, &[]);
}

/// `run_c_test` with extra compiler arguments.
fn run_c_test_with(name: &str, extra: &[String]) {
    let exe = compile_with(
        &Path::new(ROOT).join("tests/c").join(format!("{}.c", name)),
        name,
        extra,
    );
    let sim = Sim::start();
    let out = run(&exe, &[], &sim);
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

/// The header's KPOS_VERSION, KPOS_VERSION_MAJOR/MINOR/PATCH and the composed
/// KPOS_VERSION_NUMBER equal Cargo.toml's version, and kpos_version() agrees at run time.
#[test]
fn version() {
    let part = |s: &str| -> u32 { s.parse().unwrap() };
    let number = part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"));
    run_c_test_with(
        "version",
        &[
            format!("-DEXPECTED_VERSION=\"{}\"", env!("CARGO_PKG_VERSION")),
            format!("-DEXPECTED_VERSION_NUMBER={}", number),
        ],
    );
}

/// The shared library exports the C API and nothing else: every defined dynamic symbol starts
/// with `kpos_` (Rust's cdylib linking hides the Rust standard library and dependencies), so a
/// till linking other Rust or C libraries meets no clashing names.
#[test]
fn shared_library_exports_only_kpos_symbols() {
    let so = build().profile_dir.join("libklarna_pos.so");
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

/// The C till takes a payment the simulator's automatic customer approves, printing the
/// command-line contract's lines in order. The customer scans 2 s and approves 4 s after the
/// first poll: with the till's 1 s polling, each status is seen at least once.
#[test]
fn c_till_takes_a_payment() {
    let exe = compile(&Path::new(ROOT).join("examples/c/till.c"), "till");
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
