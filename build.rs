//! Refuses a build with panic = abort: the C boundary turns a panic into `KPOS_E_INTERNAL`,
//! which only works when panics unwind.
//!
//! The development build in target/ carries no SONAME, so programs link and run against it in
//! place; an installed copy gets `libklarna_pos.so.<major>` from the packaging step. The C header
//! is not generated here (consumers never build cbindgen): `tests/header.rs` generates it,
//! compares it with the committed `include/klarna_pos.h` and, with `KPOS_UPDATE_HEADER=1`,
//! rewrites it.
//!
//! On 32-bit Windows (mingw) the DLL's exports are undecorated (`--kill-at`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_PANIC").as_deref() == Ok("abort") {
        panic!("klarna-pos must be built with panic = \"unwind\": a panic would kill the till");
    }
    // The `_w` functions are stdcall on 32-bit Windows, whose symbols carry an `@N` suffix
    // (`kpos_version_w@8`); the DLL exports them undecorated, the names VB6, PowerBuilder and
    // GetProcAddress ask for.
    if std::env::var("TARGET").as_deref() == Ok("i686-pc-windows-gnu") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--kill-at");
    }
}
