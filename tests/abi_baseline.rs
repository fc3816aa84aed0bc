//! The ABI baseline: `tests/abi/klarna_pos.abi` is the ABI of the shared library as Debian's
//! abigail-tools describe it (`abidw`, from the library's symbol table and DWARF), recorded for
//! the version in `tests/abi/VERSION`. `abidiff` compares the library built now with it and the
//! test fails on an incompatible change (a removed function, a changed parameter or return
//! type), unless the major version differs from the recorded one. Compatible changes (an added
//! function) are printed: record them with the release.
//!
//! The library compared is the development build (`cargo build --lib`, what every test builds):
//! it exports the same symbols as the release build and carries the DWARF abidw reads, which
//! the release build strips. The handles `kpos_client` and `kpos_session` are opaque to C, so
//! changes inside them are suppressed (tests/abi/suppressions.txt).
//!
//! After a deliberate ABI change: `KPOS_UPDATE_ABI=1 cargo test --test abi_baseline` records the
//! library built now and its version; commit both files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAJOR: &str = env!("CARGO_PKG_VERSION_MAJOR");

/// abidiff's exit status bit for an incompatible ABI change (ABIDIFF_ABI_INCOMPATIBLE_CHANGE).
const INCOMPATIBLE: i32 = 8;
/// abidiff's exit status bit for an ABI change (ABIDIFF_ABI_CHANGE).
const CHANGED: i32 = 4;

fn abi_dir() -> PathBuf {
    Path::new(ROOT).join("tests/abi")
}

/// `abidw` of the freshly built library, without the paths of this checkout.
fn describe_library() -> String {
    let library = common::library_dir().join("libklarna_pos.so");
    let out = Command::new(common::tool("abidw", "abigail-tools"))
        .args([
            "--no-show-locs",
            "--no-corpus-path",
            "--drop-undefined-syms",
        ])
        .arg(&library)
        .output()
        .expect("abidw runs");
    assert!(
        out.status.success(),
        "abidw {} failed:\n{}",
        library.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("abidw writes UTF-8")
}

#[test]
fn the_abi_is_compatible_with_the_recorded_baseline() {
    let baseline = abi_dir().join("klarna_pos.abi");
    let recorded_version = abi_dir().join("VERSION");
    if std::env::var("KPOS_UPDATE_ABI").as_deref() == Ok("1") {
        std::fs::create_dir_all(abi_dir()).unwrap();
        std::fs::write(&baseline, describe_library()).unwrap();
        std::fs::write(&recorded_version, format!("{VERSION}\n")).unwrap();
        eprintln!("recorded the ABI of {VERSION} in {}", baseline.display());
        return;
    }
    let recorded = std::fs::read_to_string(&recorded_version)
        .expect("tests/abi/VERSION exists: record it with KPOS_UPDATE_ABI=1")
        .trim()
        .to_string();
    let current = std::env::temp_dir().join(format!("klarna_pos-{}.abi", std::process::id()));
    std::fs::write(&current, describe_library()).unwrap();
    let out = Command::new(common::tool("abidiff", "abigail-tools"))
        .arg("--no-show-locs")
        .arg("--suppressions")
        .arg(abi_dir().join("suppressions.txt"))
        .arg(&baseline)
        .arg(&current)
        .output()
        .expect("abidiff runs");
    let _ = std::fs::remove_file(&current);
    let status = out.status.code().expect("abidiff exits");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("abidiff against the ABI of {recorded}: exit status {status}\n{report}");
    assert!(
        status & !(INCOMPATIBLE | CHANGED) == 0,
        "abidiff failed (status {status}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded_major = recorded.split('.').next().unwrap();
    if breaks_callers(status, &report) && recorded_major == MAJOR {
        panic!(
            "incompatible ABI change against {recorded} while the major version is still {MAJOR}: \
             keep the ABI, or raise the major version in Cargo.toml and record the new ABI with \
             KPOS_UPDATE_ABI=1 cargo test --test abi_baseline\n{report}"
        );
    }
}

/// Whether abidiff's answer breaks existing callers: an incompatible change, or any removed or
/// changed function or variable in its summaries (an added one does not).
fn breaks_callers(status: i32, report: &str) -> bool {
    if status & INCOMPATIBLE != 0 {
        return true;
    }
    report
        .lines()
        .filter_map(|l| l.split_once("changes summary:").map(|(_, counts)| counts))
        .flat_map(|counts| counts.split(','))
        .any(|part| {
            let words: Vec<&str> = part.split_whitespace().collect();
            let count: u32 = words.first().and_then(|n| n.parse().ok()).unwrap_or(0);
            count > 0 && (words.contains(&"Removed") || words.contains(&"Changed"))
        })
}

/// abidiff of the baseline against the baseline with `edit` applied.
fn abidiff_after(edit: impl Fn(&str) -> String) -> (i32, String) {
    let baseline = std::fs::read_to_string(abi_dir().join("klarna_pos.abi")).unwrap();
    let dir = std::env::temp_dir().join(format!("kpos-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) = (dir.join("old.abi"), dir.join("new.abi"));
    std::fs::write(&old, &baseline).unwrap();
    std::fs::write(&new, edit(&baseline)).unwrap();
    let out = Command::new(common::tool("abidiff", "abigail-tools"))
        .arg(&old)
        .arg(&new)
        .output()
        .expect("abidiff runs");
    let _ = std::fs::remove_dir_all(&dir);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap(), report)
}

/// The comparison finds what it is for: a removed function and a removed parameter break
/// callers; the unchanged baseline does not.
#[test]
fn a_removed_function_or_parameter_breaks_callers() {
    let (status, report) = abidiff_after(|abi| abi.to_string());
    assert!(!breaks_callers(status, &report), "{status}: {report}");

    let symbol = "<elf-symbol name='kpos_order_cancel'";
    let (status, report) = abidiff_after(|abi| {
        assert!(abi.contains(symbol), "the baseline lists kpos_order_cancel");
        abi.lines()
            .filter(|l| !l.contains(symbol))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    assert!(breaks_callers(status, &report), "{status}: {report}");
    assert!(report.contains("kpos_order_cancel"), "{report}");

    let (status, report) = abidiff_after(|abi| {
        let decl = abi
            .find("<function-decl name='kpos_client_new'")
            .expect("the baseline describes kpos_client_new");
        let parameter = decl + abi[decl..].find("<parameter").unwrap();
        let end = parameter + abi[parameter..].find('\n').unwrap() + 1;
        format!("{}{}", &abi[..parameter], &abi[end..])
    });
    assert!(breaks_callers(status, &report), "{status}: {report}");
    assert!(report.contains("kpos_client_new"), "{report}");
}
