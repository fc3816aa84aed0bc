//! The `_w` layer for tills that can call only stdcall functions and speak UTF-16 (VB6,
//! PowerBuilder, Clarion, older Delphi and Visual C++ code): the functions a till needs to take
//! a payment, cancel it, capture and refund it and report errors, each named as its UTF-8 original
//! plus `_w`. They are `extern "system"`: stdcall on 32-bit Windows, the C convention everywhere
//! else, with undecorated export names (`kpos_version_w`, see `build.rs`). Strings go in as
//! NUL-terminated UTF-16 and come out through the caller's buffers (`wide_out`); integers are
//! 32-bit and handles the same opaque pointers as the UTF-8 functions'. Each is a shell over its
//! original: convert, call, copy.

use std::ffi::{c_char, CStr, CString};

use super::client::kpos_client;
use super::session::{kpos_session, session_arg};
use super::{boundary, kpos_result, to_cstring};
use crate::core::Error;

/// Reads a NUL-terminated UTF-16 argument as a C string for the UTF-8 original. NULL, and
/// invalid UTF-16 (a lone surrogate), are refused naming the argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated UTF-16 string.
unsafe fn wide_arg(ptr: *const u16, name: &str) -> Result<CString, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_field(name, "must not be NULL"));
    }
    let mut len = 0;
    while *ptr.add(len) != 0 {
        len += 1;
    }
    let units = std::slice::from_raw_parts(ptr, len);
    let mut text = String::with_capacity(len);
    let mut at = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        match c {
            Ok(c) => {
                text.push(c);
                at += c.len_utf16();
            }
            Err(e) => {
                return Err(Error::invalid_field(
                    name,
                    format!(
                        "is not valid UTF-16: unpaired surrogate 0x{:04X} at unit {at}",
                        e.unpaired_surrogate()
                    ),
                ))
            }
        }
    }
    Ok(to_cstring(&text))
}

/// As [`wide_arg`], with NULL read as "not given".
///
/// # Safety
/// As for [`wide_arg`].
unsafe fn opt_wide_arg(ptr: *const u16, name: &str) -> Result<Option<CString>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    wide_arg(ptr, name).map(Some)
}

/// The argument check of every output buffer: `cap` must not be negative, and `buf` may be NULL
/// only when `cap` is 0.
fn check_buffer(buf: *mut u16, cap: i32, name: &str) -> Result<(), Error> {
    if cap < 0 {
        return Err(Error::invalid_field(
            name,
            format!("has a negative capacity ({cap})"),
        ));
    }
    if buf.is_null() && cap > 0 {
        return Err(Error::invalid_field(
            name,
            format!("must not be NULL when its capacity is {cap}"),
        ));
    }
    Ok(())
}

/// Writes `text` as UTF-16 into `buf`: at most `cap` units including the NUL, always terminated
/// when `cap` > 0, never cutting a surrogate pair in half. Returns the units the whole text needs
/// without the NUL. The buffer was checked by [`check_buffer`].
///
/// # Safety
/// `buf` must be valid for `cap` writes.
unsafe fn wide_out(text: &str, buf: *mut u16, cap: i32) -> i32 {
    let units: Vec<u16> = text.encode_utf16().collect();
    if cap > 0 {
        let mut n = units.len().min(cap as usize - 1);
        if n < units.len() && n > 0 && (0xD800..0xDC00).contains(&units[n - 1]) {
            n -= 1;
        }
        std::ptr::copy_nonoverlapping(units.as_ptr(), buf, n);
        buf.add(n).write(0);
    }
    i32::try_from(units.len()).unwrap_or(i32::MAX)
}

/// A getter into a caller's buffer: checks the buffer, runs `get` and copies its text. Returns
/// the units needed without the NUL, or -1 with the last error set when `get` fails or an
/// argument is refused (`KPOS_E_INVALID_ARGUMENT`), the buffer emptied when it can be.
fn text_getter(buf: *mut u16, cap: i32, get: impl FnOnce() -> Result<String, Error>) -> i32 {
    let mut needed = -1;
    let rc = boundary(|| {
        check_buffer(buf, cap, "buf")?;
        // Empty first, so that a refused handle still leaves a terminated buffer.
        unsafe { wide_out("", buf, cap) };
        let text = get()?;
        needed = unsafe { wide_out(&text, buf, cap) };
        Ok(())
    });
    if rc == super::error::KPOS_OK {
        needed
    } else {
        -1
    }
}

/// [`text_getter`] for a string the library keeps (NULL for no value: 0, an empty buffer).
fn string_getter(
    buf: *mut u16,
    cap: i32,
    get: impl FnOnce() -> Result<*const c_char, Error>,
) -> i32 {
    text_getter(buf, cap, || {
        let text = get()?;
        Ok(if text.is_null() {
            String::new()
        } else {
            // Every string of the library is valid UTF-8.
            unsafe { CStr::from_ptr(text) }
                .to_str()
                .unwrap_or("")
                .to_string()
        })
    })
}

/// Runs a shell around a UTF-8 original: conversion failures (and panics) give their code with
/// the last error set; otherwise the original's own result, last error and all.
fn shell(f: impl FnOnce() -> Result<kpos_result, Error>) -> kpos_result {
    let mut code = super::error::KPOS_OK;
    let rc = boundary(|| {
        code = f()?;
        Ok(())
    });
    if rc == super::error::KPOS_OK {
        code
    } else {
        rc
    }
}

/// `kpos_client_new` with the configuration JSON as UTF-16 (NULL: from the environment, as
/// there). Invalid UTF-16 gives `KPOS_E_INVALID_ARGUMENT` with field `config_json`.
///
/// # Safety
/// `config_json` must be NULL or a NUL-terminated UTF-16 string; `out` as for `kpos_client_new`.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_client_new_w(
    config_json: *const u16,
    out: *mut *mut kpos_client,
) -> kpos_result {
    shell(|| {
        let config = opt_wide_arg(config_json, "config_json")?;
        let ptr = config.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        Ok(super::client::kpos_client_new(ptr, out))
    })
}

/// `kpos_client_free` for stdcall callers.
///
/// # Safety
/// As for `kpos_client_free`.
#[no_mangle]
pub unsafe extern "system" fn kpos_client_free_w(client: *mut kpos_client) {
    super::client::kpos_client_free(client)
}

/// `kpos_session_create` with the order JSON as UTF-16 (names and references may carry any
/// Unicode text, e.g. "Größe"). Invalid UTF-16 gives `KPOS_E_INVALID_ARGUMENT` with field
/// `order_json` and nothing is sent; every other result as for `kpos_session_create`.
///
/// # Safety
/// `order_json` must be NULL or a NUL-terminated UTF-16 string; `out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_session_create_w(
    client: *mut kpos_client,
    order_json: *const u16,
    out: *mut *mut kpos_session,
) -> kpos_result {
    shell(|| {
        let order = wide_arg(order_json, "order_json")?;
        Ok(super::session::kpos_session_create(
            client,
            order.as_ptr(),
            out,
        ))
    })
}

/// `kpos_session_wait` for stdcall callers: the same arguments and results.
///
/// # Safety
/// As for `kpos_session_wait`.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_session_wait_w(
    s: *mut kpos_session,
    timeout_ms: u32,
    status_out: *mut u32,
) -> kpos_result {
    super::session::kpos_session_wait(s, timeout_ms, status_out)
}

/// `kpos_session_poll` for stdcall callers: the same arguments and results.
///
/// # Safety
/// As for `kpos_session_poll`.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_session_poll_w(
    s: *mut kpos_session,
    status_out: *mut u32,
) -> kpos_result {
    super::session::kpos_session_poll(s, status_out)
}

/// `kpos_session_cancel` for stdcall callers: the same argument and results.
///
/// # Safety
/// As for `kpos_session_cancel`.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_session_cancel_w(s: *mut kpos_session) -> kpos_result {
    super::session::kpos_session_cancel(s)
}

/// `kpos_session_free` for stdcall callers.
///
/// # Safety
/// As for `kpos_session_free`.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_free_w(s: *mut kpos_session) {
    super::session::kpos_session_free(s)
}

/// A session getter for the `_w` layer: -1 for a NULL or freed session, else its string.
fn session_getter(
    s: *const kpos_session,
    buf: *mut u16,
    cap: i32,
    get: unsafe extern "C" fn(*const kpos_session) -> *const c_char,
) -> i32 {
    string_getter(buf, cap, || {
        session_arg(s)?;
        Ok(unsafe { get(s) })
    })
}

/// Klarna's session id into the caller's buffer `buf` of `cap` UTF-16 units: writes at most
/// `cap` units including the terminating NUL (never more; always terminated when `cap` > 0; a
/// string that does not fit is cut, never inside a surrogate pair) and returns the number of
/// units the whole id needs without the NUL, so `cap` 0 (with `buf` NULL) sizes a buffer and a
/// return value >= `cap` means it was cut. Returns -1 with `KPOS_E_INVALID_ARGUMENT` as the
/// last error for a NULL or freed session, a negative `cap`, or a NULL `buf` with `cap` > 0
/// (the buffer is then left empty when it can be written).
///
/// # Safety
/// `s` must be NULL or a handle from this library; `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_id_w(
    s: *const kpos_session,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    session_getter(s, buf, cap, super::session::kpos_session_id)
}

/// Klarna's QR code image URL into the caller's buffer, as `kpos_session_id_w`; 0 (an empty
/// buffer) until the session is distributed.
///
/// # Safety
/// As for `kpos_session_id_w`.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_qr_url_w(
    s: *const kpos_session,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    session_getter(s, buf, cap, super::session::kpos_session_qr_url)
}

/// The payment link into the caller's buffer, as `kpos_session_id_w`; 0 (an empty buffer) when
/// Klarna gave none.
///
/// # Safety
/// As for `kpos_session_id_w`.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_payment_link_w(
    s: *const kpos_session,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    session_getter(s, buf, cap, super::session::kpos_session_payment_link)
}

/// The Klarna order id of a COMPLETED payment into the caller's buffer, as `kpos_session_id_w`;
/// 0 (an empty buffer) until COMPLETED.
///
/// # Safety
/// As for `kpos_session_id_w`.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_order_id_w(
    s: *const kpos_session,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    session_getter(s, buf, cap, super::session::kpos_session_order_id)
}

/// The receipt lines of a COMPLETED payment (as `kpos_session_receipt_text`, lines separated by
/// `\n`: VB6 tills print them after `Replace(text, vbLf, vbCrLf)`) into the caller's buffer, as
/// `kpos_session_id_w` writes, in `language` given as UTF-16 (NULL or an unknown tag: English).
/// Returns -1 with the last error set for what `kpos_session_receipt_text` refuses:
/// `KPOS_E_CONFLICT` when the session is not COMPLETED, `KPOS_E_INVALID_ARGUMENT` for a NULL or
/// freed session, a session resumed without its journal record, a `language` that is not valid
/// UTF-16, a negative `cap`, or a NULL `buf` with `cap` > 0.
///
/// # Safety
/// `s` must be NULL or a handle from this library; `language` must be NULL or a NUL-terminated
/// UTF-16 string; `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_session_receipt_text_w(
    s: *const kpos_session,
    language: *const u16,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    text_getter(buf, cap, || {
        let handle = session_arg(s)?;
        let language = opt_wide_arg(language, "language")?;
        let tag = language.as_deref().map(|t| t.to_str().unwrap_or(""));
        crate::core::receipt::receipt_text(&handle.session, tag)
    })
}

/// The signature `kpos_order_capture` and `kpos_order_refund` share.
type MoveMoney = unsafe extern "C" fn(
    *mut kpos_client,
    *const c_char,
    *const c_char,
    *const c_char,
    *mut *mut c_char,
) -> kpos_result;

/// A capture or refund of the `_w` layer: the arguments checked and converted before anything
/// is sent, the original called, its id copied into the caller's buffer.
///
/// # Safety
/// As for [`kpos_order_capture_w`].
#[allow(clippy::too_many_arguments)]
unsafe fn move_money_w(
    original: MoveMoney,
    client: *mut kpos_client,
    order_id: *const u16,
    (body, body_name): (*const u16, &str),
    idempotency_key: *const u16,
    (id_buf, id_name): (*mut u16, &str),
    id_cap: i32,
    id_len: *mut i32,
) -> kpos_result {
    shell(|| {
        check_buffer(id_buf, id_cap, id_name)?;
        let order_id = wide_arg(order_id, "order_id")?;
        let body = wide_arg(body, body_name)?;
        let key = opt_wide_arg(idempotency_key, "idempotency_key")?;
        let mut id: *mut c_char = std::ptr::null_mut();
        let rc = original(
            client,
            order_id.as_ptr(),
            body.as_ptr(),
            key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
            &mut id,
        );
        if rc == super::error::KPOS_OK {
            let needed = wide_out(&CStr::from_ptr(id).to_string_lossy(), id_buf, id_cap);
            super::kpos_string_free(id);
            if !id_len.is_null() {
                id_len.write(needed);
            }
        }
        Ok(rc)
    })
}

/// `kpos_order_capture` with its strings as UTF-16 (`idempotency_key` may be NULL, but pass
/// one: it is how an id that did not fit is read again) and the Capture-Id written into the
/// caller's buffer `capture_id` of `capture_id_cap` units as `kpos_session_id_w` writes (cap 0
/// with NULL allowed). `*capture_id_len` (may be NULL) receives the units the whole id needs
/// without the NUL; when it is >= `capture_id_cap` the id was cut, and the capture was made all
/// the same: repeat the call with the same idempotency key and a larger buffer (Klarna answers
/// with the same id and captures once). The buffer and the strings are checked before anything
/// is sent: a negative cap, a NULL buffer with cap > 0 or invalid UTF-16 give
/// `KPOS_E_INVALID_ARGUMENT` naming the argument. Every other result as for
/// `kpos_order_capture`; the buffer and `*capture_id_len` are written only on `KPOS_OK`.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated UTF-16; `capture_id` must be NULL or valid
/// for `capture_id_cap` writes; `capture_id_len` must be NULL or valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_order_capture_w(
    client: *mut kpos_client,
    order_id: *const u16,
    capture_json: *const u16,
    idempotency_key: *const u16,
    capture_id: *mut u16,
    capture_id_cap: i32,
    capture_id_len: *mut i32,
) -> kpos_result {
    move_money_w(
        super::order::kpos_order_capture,
        client,
        order_id,
        (capture_json, "capture_json"),
        idempotency_key,
        (capture_id, "capture_id"),
        capture_id_cap,
        capture_id_len,
    )
}

/// `kpos_order_refund` with its strings as UTF-16 and the Refund-Id written into the caller's
/// buffer `refund_id` of `refund_id_cap` units, `*refund_id_len` (may be NULL) receiving the
/// units it needs: exactly as `kpos_order_capture_w` (a refund is made once per idempotency
/// key, and repeating it with its key gives the same Refund-Id). Every other result as for
/// `kpos_order_refund`.
///
/// # Safety
/// As for `kpos_order_capture_w`.
#[no_mangle]
#[must_use]
pub unsafe extern "system" fn kpos_order_refund_w(
    client: *mut kpos_client,
    order_id: *const u16,
    refund_json: *const u16,
    idempotency_key: *const u16,
    refund_id: *mut u16,
    refund_id_cap: i32,
    refund_id_len: *mut i32,
) -> kpos_result {
    move_money_w(
        super::order::kpos_order_refund,
        client,
        order_id,
        (refund_json, "refund_json"),
        idempotency_key,
        (refund_id, "refund_id"),
        refund_id_cap,
        refund_id_len,
    )
}

/// The message of the most recent failing call on this thread (as `kpos_last_error_message`)
/// into the caller's buffer, as `kpos_session_id_w` writes; 0 when nothing failed yet. A
/// refused buffer returns -1 and becomes the last error itself.
///
/// # Safety
/// `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_last_error_message_w(buf: *mut u16, cap: i32) -> i32 {
    string_getter(buf, cap, || Ok(super::error::kpos_last_error_message()))
}

/// `kpos_last_error_code` for stdcall callers.
#[no_mangle]
#[must_use]
pub extern "system" fn kpos_last_error_code_w() -> kpos_result {
    super::error::kpos_last_error_code()
}

/// The status name (as `kpos_status_name`, e.g. "COMPLETED") into the caller's buffer, as
/// `kpos_session_id_w` writes.
///
/// # Safety
/// `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_status_name_w(status: u32, buf: *mut u16, cap: i32) -> i32 {
    string_getter(buf, cap, || Ok(super::session::kpos_status_name(status)))
}

/// The text to show for a status (as `kpos_status_display_text`) into the caller's buffer, as
/// `kpos_session_id_w` writes.
///
/// # Safety
/// `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_status_display_text_w(
    status: u32,
    buf: *mut u16,
    cap: i32,
) -> i32 {
    string_getter(buf, cap, || {
        Ok(super::session::kpos_status_display_text(status))
    })
}

/// The library version, "MAJOR.MINOR.PATCH", into the caller's buffer, as `kpos_session_id_w`
/// writes.
///
/// # Safety
/// `buf` must be NULL or valid for `cap` writes.
#[no_mangle]
pub unsafe extern "system" fn kpos_version_w(buf: *mut u16, cap: i32) -> i32 {
    string_getter(buf, cap, || Ok(super::kpos_version()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain([0]).collect()
    }

    #[test]
    fn utf16_arguments_become_utf8_and_lone_surrogates_are_refused_by_name() {
        let ok = unsafe { wide_arg(wide("Åsa Größe 😀").as_ptr(), "order_json") }.unwrap();
        assert_eq!(ok.to_str().unwrap(), "Åsa Größe 😀");
        let bad = [0xD83Du16, 0xDE00, 0xD800, 0x42, 0];
        let e = unsafe { wide_arg(bad.as_ptr(), "order_json") }.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order_json"));
        assert!(e.to_string().contains("0xD800 at unit 2"), "{e}");
        let e = unsafe { wide_arg(std::ptr::null(), "order_id") }.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order_id"));
    }

    #[test]
    fn output_never_passes_cap_and_never_splits_a_surrogate_pair() {
        let mut buf = [0xFFFFu16; 8];
        assert_eq!(unsafe { wide_out("a😀b", buf.as_mut_ptr(), 3) }, 4);
        assert_eq!(&buf[..4], &[0x61, 0, 0xFFFF, 0xFFFF]);
        assert_eq!(unsafe { wide_out("a😀b", buf.as_mut_ptr(), 5) }, 4);
        assert_eq!(&buf[..5], &[0x61, 0xD83D, 0xDE00, 0x62, 0]);
        let version_len = env!("CARGO_PKG_VERSION").len() as i32;
        assert_eq!(
            unsafe { kpos_version_w(std::ptr::null_mut(), 0) },
            version_len
        );
        assert_eq!(unsafe { kpos_version_w(std::ptr::null_mut(), 1) }, -1);
        assert_eq!(unsafe { kpos_version_w(buf.as_mut_ptr(), -1) }, -1);
    }
}
