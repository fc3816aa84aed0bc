//! The C boundary. Every export runs inside [`boundary`] (or [`boundary_value`] for infallible
//! getters), which catches panics and records the last error. Nothing here decides business
//! logic: each export checks its arguments, calls the core, and converts the answer.

#![allow(non_camel_case_types)]

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{LazyLock, Mutex, OnceLock};

use crate::core::fork::{self, ForkLock};
use crate::core::{Code, Error};

pub mod check;
pub mod client;
pub mod day;
pub mod error;
pub mod handle;
pub mod journal;
pub mod log;
pub mod order;
pub mod qr;
pub mod session;
#[cfg(feature = "test-panic")]
pub mod testing;
pub mod watch;
pub mod webhook;
pub mod wide;

pub use error::kpos_result;

/// Registers the fork handlers with the process-wide locks of the C boundary (see
/// `core::fork`); called by the exports that create process-wide state.
pub(crate) fn install_fork_handlers() {
    static LOCKS: OnceLock<Vec<&'static dyn ForkLock>> = OnceLock::new();
    let locks = LOCKS.get_or_init(|| {
        vec![
            client::CLIENTS.fork_lock(),
            session::registry_fork_lock(),
            &BYTES as &'static dyn ForkLock,
            crate::core::watch::pollers_fork_lock(),
            crate::core::watch::queue_fork_lock(),
            &crate::core::trust::SHARED_ROOTS as &'static dyn ForkLock,
        ]
    });
    fork::install(Some(locks.as_slice()));
}

/// Runs `f`, turning `Err` and panics into a result code and the thread's last error.
pub(crate) fn boundary<F>(f: F) -> kpos_result
where
    F: FnOnce() -> Result<(), Error>,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Code::Ok as kpos_result,
        Ok(Err(e)) => {
            let code = e.code as kpos_result;
            error::set_last_error(e);
            code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            error::set_last_error(Error::new(
                Code::Internal,
                format!("internal error in klarna-pos (please report): {}", what),
            ));
            Code::Internal as kpos_result
        }
    }
}

/// For exports that cannot fail: a panic yields `neutral` instead of crossing into C.
pub(crate) fn boundary_value<T, F>(neutral: T, f: F) -> T
where
    F: FnOnce() -> T,
{
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(neutral)
}

/// Returns `Err(INVALID_ARGUMENT)` from the enclosing closure when `$ptr` is NULL.
macro_rules! require_non_null {
    ($ptr:expr, $name:literal) => {
        if $ptr.is_null() {
            return Err($crate::core::Error::invalid_field(
                $name,
                "must not be NULL",
            ));
        }
    };
}
pub(crate) use require_non_null;

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_field(name, "must not be NULL"));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|e| Error::invalid_field(name, format!("is not valid UTF-8: {}", e)))
}

/// Reads an optional NUL-terminated UTF-8 string argument (NULL gives `None`).
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    str_arg(ptr, name).map(Some)
}

/// Reads a byte buffer argument given as a pointer and a length. NULL is refused (an empty
/// buffer is a non-NULL pointer with length 0), and so is a length above `isize::MAX`
/// (`PTRDIFF_MAX`), which no buffer can have.
///
/// # Safety
/// `ptr` must be NULL or readable for `len` bytes that live for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return Err(Error::invalid_field(name, "must not be NULL"));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid_field(
            format!("{}_len", name),
            format!("is {}, above PTRDIFF_MAX: not the length of a buffer", len),
        ));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// A C string; interior NULs (never expected) are replaced rather than truncating silently.
pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).expect("NULs were replaced"))
}

/// Writes `value` through an out-pointer checked non-NULL earlier.
///
/// # Safety
/// `out` must be valid for writes.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    out.write(value)
}

/// Hands a string to C through a `char **` out-parameter checked non-NULL earlier; the caller
/// releases it with `kpos_string_free`.
///
/// # Safety
/// `out` must be valid for writes.
pub(crate) unsafe fn string_out(out: *mut *mut c_char, s: &str) {
    write_out(out, to_cstring(s).into_raw())
}

/// The library version, `"MAJOR.MINOR.PATCH"`; static, never freed.
#[no_mangle]
pub extern "C" fn kpos_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version has no NUL"),
        };
    VERSION.as_ptr()
}

/// The library version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH` (the formula of
/// `KPOS_VERSION_NUMBER`): compare its `/ 10000` with `KPOS_VERSION_MAJOR` at load time to refuse
/// a library of another major version. Never fails; thread-safe.
#[no_mangle]
pub extern "C" fn kpos_version_number() -> u32 {
    const fn parse(s: &str) -> u32 {
        let b = s.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        n
    }
    const NUMBER: u32 = parse(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + parse(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + parse(env!("CARGO_PKG_VERSION_PATCH"));
    NUMBER
}

/// Releases a string the library returned through a `char **` out-parameter. NULL is a no-op.
///
/// # Safety
/// `s` must be NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn kpos_string_free(s: *mut c_char) {
    boundary_value((), || {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}

/// Byte buffers handed out through `uint8_t **out, size_t *len`, by address. Keeping them here
/// lets `kpos_bytes_free` ignore a foreign pointer, a double free or a wrong length instead of
/// corrupting the heap.
static BYTES: LazyLock<Mutex<HashMap<usize, Box<[u8]>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Hands `bytes` to C: the pointer and the length, with a NUL after the last byte (not counted)
/// so text can be used as a C string.
pub(crate) fn bytes_out(mut bytes: Vec<u8>) -> (*mut u8, usize) {
    let len = bytes.len();
    bytes.push(0);
    let mut boxed = bytes.into_boxed_slice();
    let ptr = boxed.as_mut_ptr();
    BYTES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(ptr as usize, boxed);
    (ptr, len)
}

/// Releases bytes the library returned through a `uint8_t **` out-parameter; pass the `len`
/// returned with them. The buffer is found by its address, so NULL, a pointer the library did
/// not hand out and a second free are no-ops.
///
/// # Safety
/// Always safe to call; after it, `p` must not be used.
#[no_mangle]
pub unsafe extern "C" fn kpos_bytes_free(p: *mut u8, len: usize) {
    // `len` is part of the contract (so other allocation strategies stay possible) but the
    // registry does not need it.
    let _ = len;
    boundary_value((), || {
        BYTES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(p as usize));
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_string_matches_the_package() {
        let v = unsafe { std::ffi::CStr::from_ptr(super::kpos_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn version_number_follows_the_header_formula() {
        let part = |name: &str| -> u32 { name.parse().unwrap() };
        let expected = part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
            + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
            + part(env!("CARGO_PKG_VERSION_PATCH"));
        assert_eq!(super::kpos_version_number(), expected);
    }
}
