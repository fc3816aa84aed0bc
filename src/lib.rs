//! klarna-pos: Klarna in-store payments for point-of-sale tills, behind a stable C ABI.
//!
//! `core` is safe Rust with no FFI types: configuration, order validation, the HTTP transport,
//! the session state machine, Order Management and the crash-safe journal. `ffi` is the C boundary only: argument checks, the panic boundary,
//! conversions. The C header `include/klarna_pos.h` is generated from `ffi` by `tests/header.rs`
//! (`KPOS_UPDATE_HEADER=1 cargo test --test header`).

// Errors carry Klarna's full detail for the till; they are the rare path, so their size is fine.
#![allow(clippy::result_large_err)]

pub mod core;
pub mod ffi;
