//! The C header: generated from `src/ffi` with cbindgen (a dev-dependency, so consumers of the
//! library never build it), compared with the committed `include/klarna_pos.h`, and compiled
//! as strict C89 and C++98 with its export and warn-unused-result macros at work.
//!
//! After changing `src/ffi`: `KPOS_UPDATE_HEADER=1 cargo test --test header` rewrites the
//! committed header; commit it with the change.

#[path = "common/c_header.rs"]
mod c_header;

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Everything before cbindgen's output: the conventions, the include guard.
const PREAMBLE: &str = r#"/*
 * klarna_pos.h: Klarna in-store payments for point-of-sale tills.
 *
 * Conventions (every function):
 *  - Fallible functions return a kpos_result (KPOS_OK = 0); other outputs go through
 *    out-pointers placed last, written only on success (kpos_session_wait also writes the
 *    status on KPOS_E_TIMEOUT). A kpos_result must not be ignored (KPOS_MUST_USE).
 *  - A NULL where an object is required gives KPOS_E_INVALID_ARGUMENT; *_free(NULL) is a no-op.
 *    Freed handles are detected and refused rather than dereferenced.
 *  - Strings are UTF-8 and NUL-terminated. Strings returned as `const char *` are owned by the
 *    library (static, or valid until their handle is freed, as documented per function);
 *    strings returned through `char **` are released with kpos_string_free, never free().
 *    Untrusted network input (webhook calls) is passed as bytes with a length instead.
 *  - The detail of the most recent failure on the calling thread is available from
 *    kpos_last_error_code/_message/_field/_klarna_code/_correlation_id/_http_status/_json
 *    (like errno); the strings stay valid until the next failing call on the same thread.
 *  - kpos_client is thread-safe and meant to be shared. A kpos_session is used by one thread at
 *    a time, except kpos_session_cancel, which any thread may call at any moment.
 *  - Every blocking call is bounded by the configured connect/request timeouts or its own
 *    timeout argument. No panic ever crosses into the caller (KPOS_E_INTERNAL instead).
 *  - fork() (Unix): a child may go on using the clients and sessions created before the fork,
 *    also when other threads were inside the library at that moment. The child never uses a
 *    connection the parent opened (it opens its own on its first request), so parent and child
 *    never see each other's answers. Work a thread of the parent was doing during the fork
 *    (a wait, a cancel) is not continued in the child, and a session such a thread was using
 *    at that moment should not be used in the child. Do not fork from inside a log callback.
 *  - The log callback is never called while the library holds a lock: it may call any kpos_
 *    function. Once kpos_set_log_callback returns, the previous callback is not running and
 *    is never called again.
 *  - All functions use the C calling convention: cdecl on 32-bit Windows (not stdcall), with
 *    undecorated export names (kpos_version, not _kpos_version@0); .NET callers declare
 *    CallingConvention.Cdecl, Delphi callers `cdecl`. The exception is the `_w` layer for
 *    stdcall and UTF-16 callers (VB6, PowerBuilder): KPOS_STDCALL functions named like their
 *    UTF-8 originals plus `_w`, taking NUL-terminated UTF-16 strings and writing strings into
 *    the caller's buffers (docs/windows.md), also exported undecorated.
 *  - Numbers of result codes and statuses never change meaning.
 *  - The header is C89 and C++98: it compiles with -std=c89 -pedantic and -std=c++98 -pedantic.
 */

#ifndef KLARNA_POS_H
#define KLARNA_POS_H"#;

/// After the #includes: the version, export and warn-unused-result macros, and the opening of
/// the extern "C" block.
fn after_includes() -> String {
    format!(
        r#"
/** Version of this header: compare with kpos_version() / kpos_version_number() at run time. */
#define KPOS_VERSION_MAJOR {major}
#define KPOS_VERSION_MINOR {minor}
#define KPOS_VERSION_PATCH {patch}
#define KPOS_VERSION "{major}.{minor}.{patch}"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for #if checks (kpos_version_number() at run time). */
#define KPOS_VERSION_NUMBER (KPOS_VERSION_MAJOR * 10000 + KPOS_VERSION_MINOR * 100 + KPOS_VERSION_PATCH)

/**
 * KPOS_API marks every function of the library. On Windows it imports them from the DLL
 * (define KPOS_STATIC when linking the static library; KPOS_BUILDING exports them instead);
 * elsewhere it gives them default visibility, so a caller built with -fvisibility=hidden still
 * sees them. Define KPOS_API yourself to override.
 */
#ifndef KPOS_API
#  if defined(_WIN32) || defined(__CYGWIN__)
#    if defined(KPOS_STATIC)
#      define KPOS_API
#    elif defined(KPOS_BUILDING)
#      define KPOS_API __declspec(dllexport)
#    else
#      define KPOS_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define KPOS_API __attribute__((visibility("default")))
#  else
#    define KPOS_API
#  endif
#endif

/**
 * KPOS_MUST_USE marks every function returning a kpos_result: ignoring the result is a
 * compiler warning (gcc, clang: warn_unused_result; MSVC /analyze: _Check_return_). Check
 * every result; where a failure changes nothing, say why next to the check (gcc warns even
 * for a call cast to (void)). Define KPOS_MUST_USE yourself (e.g. to nothing) to override.
 */
#ifndef KPOS_MUST_USE
#  if defined(__GNUC__) && (__GNUC__ > 3 || (__GNUC__ == 3 && __GNUC_MINOR__ >= 4))
#    define KPOS_MUST_USE __attribute__((warn_unused_result))
#  elif defined(_MSC_VER)
#    include <sal.h>
#    define KPOS_MUST_USE _Check_return_
#  else
#    define KPOS_MUST_USE
#  endif
#endif

/**
 * KPOS_STDCALL marks the `_w` functions (UTF-16 strings, caller's buffers): __stdcall on 32-bit
 * Windows, the convention VB6, PowerBuilder and Win32 callers use; nothing elsewhere (64-bit
 * Windows and other systems have one calling convention). Their exports are undecorated too.
 */
#ifndef KPOS_STDCALL
#  if defined(_WIN32) && !defined(_WIN64)
#    define KPOS_STDCALL __stdcall
#  else
#    define KPOS_STDCALL
#  endif
#endif

#ifdef __cplusplus
extern "C" {{
#endif
"#,
        major = env!("CARGO_PKG_VERSION_MAJOR"),
        minor = env!("CARGO_PKG_VERSION_MINOR"),
        patch = env!("CARGO_PKG_VERSION_PATCH"),
    )
}

/// After cbindgen's output: the end of the extern "C" block and of the include guard.
const TRAILER: &str = r#"#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* KLARNA_POS_H */"#;

/// The header as cbindgen generates it from `src/ffi`, in memory.
fn generate() -> String {
    let root = PathBuf::from(ROOT);
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    config.header = Some(PREAMBLE.to_string());
    config.after_includes = Some(after_includes());
    config.trailer = Some(TRAILER.to_string());
    // Only the FFI layer is parsed: the core's public Rust types are not part of the C ABI.
    // cbindgen reads only `extern "C"` functions, so it is given a copy of src/ffi in which the
    // `_w` layer's `extern "system"` reads `extern "C"`; their declarations then get
    // KPOS_STDCALL before the name.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let source = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("header-src-{}-{call}", std::process::id()));
    let _ = std::fs::remove_dir_all(&source);
    std::fs::create_dir_all(&source).unwrap();
    for entry in std::fs::read_dir(root.join("src/ffi")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("extern \"system\" fn", "extern \"C\" fn");
        std::fs::write(source.join(path.file_name().unwrap()), text).unwrap();
    }
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(source.join("mod.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let _ = std::fs::remove_dir_all(&source);
    let mut out = Vec::new();
    bindings.write(&mut out);
    let header = String::from_utf8(out).expect("the header is UTF-8");
    let mut marked = String::with_capacity(header.len());
    for line in header.split_inclusive('\n') {
        let declares_w = |open: usize| {
            let name = line[..open].rsplit(' ').next().unwrap_or("");
            !line.starts_with([' ', '*', '/', '#'])
                && name.starts_with("kpos_")
                && name.ends_with("_w")
        };
        match line.find('(') {
            Some(open) if declares_w(open) => {
                let name_start = line[..open].rfind(' ').unwrap() + 1;
                marked.push_str(&line[..name_start]);
                marked.push_str("KPOS_STDCALL ");
                marked.push_str(&line[name_start..]);
            }
            _ => marked.push_str(line),
        }
    }
    marked
}

/// The lines that differ, as `-committed` / `+generated` around the first difference.
fn describe_difference(committed: &str, generated: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) =
        (committed.lines().collect(), generated.lines().collect());
    let first = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    // The end of the difference: the longest common suffix after `first`.
    let mut tail = 0;
    while tail < old.len() - first
        && tail < new.len() - first
        && old[old.len() - 1 - tail] == new[new.len() - 1 - tail]
    {
        tail += 1;
    }
    let mut out = format!("first difference at line {}:\n", first + 1);
    let limit = 40;
    for line in old[first..old.len() - tail].iter().take(limit) {
        out += &format!("-{line}\n");
    }
    for line in new[first..new.len() - tail].iter().take(limit) {
        out += &format!("+{line}\n");
    }
    out
}

/// The committed header must be exactly what cbindgen generates from `src/ffi`.
#[test]
fn committed_header_matches_the_generated_one() {
    let generated = generate();
    let path = Path::new(ROOT).join("include/klarna_pos.h");
    if std::env::var("KPOS_UPDATE_HEADER").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        generated == committed,
        "include/klarna_pos.h is stale: regenerate it with `KPOS_UPDATE_HEADER=1 cargo test \
         --test header` and commit it\n{}",
        describe_difference(&committed, &generated)
    );
}

/// Every name the header defines carries the library's prefix, so nothing collides with a
/// till's own symbols.
#[test]
fn header_names_carry_the_kpos_prefix() {
    let header = generate();
    for line in header.lines() {
        let define = line.trim_start_matches('#').trim_start();
        if line.starts_with('#') && define.starts_with("define ") {
            let name = define["define ".len()..].split_whitespace().next().unwrap();
            assert!(
                name.starts_with("KPOS_") || name == "KLARNA_POS_H",
                "{}",
                line
            );
        }
        if let Some(rest) = line.strip_prefix("typedef ") {
            assert!(rest.contains("kpos_"), "{}", line);
        }
    }
}

/// Every function declaration starts with KPOS_API, and exactly those returning a kpos_result
/// carry KPOS_MUST_USE.
#[test]
fn every_function_is_exported_and_every_result_must_be_used() {
    let functions = c_header::functions(&generate());
    assert!(
        functions.len() > 40,
        "only {} declarations found",
        functions.len()
    );
    for f in functions {
        assert!(f.head.starts_with("KPOS_API "), "not exported: {f:?}");
        assert_eq!(
            f.head
                .trim_end_matches(" KPOS_STDCALL")
                .ends_with(" kpos_result"),
            f.head.contains("KPOS_MUST_USE"),
            "KPOS_MUST_USE must mark exactly the functions returning a kpos_result: {f:?}"
        );
    }
}

/// A translation unit using the header: ignores no result, and (with IGNORE_RESULT defined)
/// ignores one, which must be refused by -Werror through KPOS_MUST_USE.
const USE_HEADER: &str = r#"#include "klarna_pos.h"

int main(void) {
    kpos_client *client = NULL;
    kpos_result rc;
#ifdef IGNORE_RESULT
    kpos_client_new(NULL, &client);
#endif
    rc = kpos_client_new("{}", &client);
    kpos_client_free(client);
    return rc == KPOS_OK && kpos_version_number() == KPOS_VERSION_NUMBER ? 0 : 1;
}
"#;

/// Compiles USE_HEADER (as C or C++ by the file name) with `compiler` and `flags`, plus
/// `-D` definitions; returns the compiler's success and its diagnostics.
fn compile(compiler: &str, file: &str, flags: &[&str], defines: &[&str]) -> (bool, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("header");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join(file);
    std::fs::write(&source, USE_HEADER).unwrap();
    let out = Command::new(compiler)
        .args(flags)
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-I")
        .arg(Path::new(ROOT).join("include"))
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(source.with_extension("o"))
        .output()
        .unwrap_or_else(|e| panic!("{compiler} does not run ({e}): install it (tests/run does)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const C89: &[&str] = &["-std=c89", "-pedantic", "-Wall", "-Wextra", "-Werror"];
const CXX98: &[&str] = &["-std=c++98", "-pedantic", "-Wall", "-Wextra", "-Werror"];

#[test]
fn header_compiles_as_c89() {
    let (ok, diagnostics) = compile("gcc", "use_header.c", C89, &[]);
    assert!(
        ok,
        "gcc -std=c89 -pedantic -Werror refuses the header:\n{diagnostics}"
    );
}

#[test]
fn header_compiles_as_cxx98() {
    let (ok, diagnostics) = compile("g++", "use_header.cpp", CXX98, &[]);
    assert!(
        ok,
        "g++ -std=c++98 -pedantic -Werror refuses the header:\n{diagnostics}"
    );
}

/// KPOS_MUST_USE works: a result ignored without a (void) cast fails a -Werror build.
#[test]
fn an_ignored_result_is_a_warning_in_c_and_cxx() {
    for (compiler, file, flags) in [("gcc", "ignored.c", C89), ("g++", "ignored.cpp", CXX98)] {
        let (ok, diagnostics) = compile(compiler, file, flags, &["IGNORE_RESULT"]);
        assert!(!ok, "{compiler} accepted an ignored kpos_result");
        assert!(
            diagnostics.contains("warn_unused_result") || diagnostics.contains("unused-result"),
            "{compiler} refused it for another reason:\n{diagnostics}"
        );
    }
}
