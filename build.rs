//! Generates the C header from `src/ffi` with cbindgen, and refuses a build with panic = abort.
//!
//! The development build in target/ carries no SONAME, so programs link and run against it in
//! place; an installed copy gets `libklarna_pos.so.<major>` from the packaging step.
//!
//! The header is written to `$OUT_DIR/klarna_pos.h`; a unit test compares it with the committed
//! `include/klarna_pos.h`. Set `KPOS_UPDATE_HEADER=1` to write the committed copy instead.

use std::env;
use std::path::PathBuf;

const PREAMBLE: &str = r#"/*
 * klarna_pos.h: Klarna in-store payments for point-of-sale tills.
 *
 * Conventions (every function):
 *  - Fallible functions return a kpos_result (KPOS_OK = 0); other outputs go through
 *    out-pointers placed last, written only on success (kpos_session_wait also writes the
 *    status on KPOS_E_TIMEOUT).
 *  - A NULL where an object is required gives KPOS_E_INVALID_ARGUMENT; *_free(NULL) is a no-op.
 *    Freed handles are detected and refused rather than dereferenced.
 *  - Strings are UTF-8 and NUL-terminated. Strings returned as `const char *` are owned by the
 *    library (static, or valid until their handle is freed, as documented per function);
 *    strings returned through `char **` are released with kpos_string_free, never free().
 *  - The detail of the most recent failure on the calling thread is available from
 *    kpos_last_error_code/_message/_json (like errno).
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
 *    CallingConvention.Cdecl, Delphi callers `cdecl`.
 *  - Numbers of result codes and statuses never change meaning.
 */"#;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=KPOS_UPDATE_HEADER");

    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    if env::var("CARGO_CFG_PANIC").as_deref() == Ok("abort") {
        panic!("klarna-pos must be built with panic = \"unwind\": a panic would kill the till");
    }

    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    config.header = Some(PREAMBLE.to_string());
    config.after_includes = Some(format!(
        "\n/** Version of this header: compare with kpos_version() at run time. */\n\
         #define KPOS_VERSION_MAJOR {major}\n\
         #define KPOS_VERSION_MINOR {minor}\n\
         #define KPOS_VERSION_PATCH {patch}\n\
         #define KPOS_VERSION \"{major}.{minor}.{patch}\"\n\
         /** MAJOR * 10000 + MINOR * 100 + PATCH, for #if checks. */\n\
         #define KPOS_VERSION_NUMBER (KPOS_VERSION_MAJOR * 10000 + KPOS_VERSION_MINOR * 100 + KPOS_VERSION_PATCH)\n",
        major = major,
        minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap(),
        patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap(),
    ));
    // Only the FFI layer is parsed: the core's public Rust types are not part of the C ABI.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen generates the header");

    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("klarna_pos.h");
    bindings.write_to_file(&out);
    println!("cargo:rustc-env=KPOS_GENERATED_HEADER={}", out.display());
    if env::var("KPOS_UPDATE_HEADER").as_deref() == Ok("1") {
        bindings.write_to_file(crate_dir.join("include/klarna_pos.h"));
    }
}
