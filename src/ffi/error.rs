//! Result codes, their names, texts and actions, and the thread-local last error.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use super::{boundary_value, to_cstring};
use crate::core::{Code, Error};

/// A result code: `KPOS_OK` (0) or one of the `KPOS_E_*` values. Numbers never change meaning.
pub type kpos_result = u32;

/// Success.
pub const KPOS_OK: kpos_result = 0;
/// API misuse: a NULL or freed handle, invalid UTF-8, unreadable JSON, an unknown enum value, a
/// bad configuration. Action: fix the calling code.
pub const KPOS_E_INVALID_ARGUMENT: kpos_result = 1;
/// The order or request is not acceptable: refused locally before sending (the field path is in
/// the last error), or Klarna answered 400 / a distribution failed with `BAD_REQUEST`.
/// Action: create the request again with appropriate input.
pub const KPOS_E_BAD_REQUEST: kpos_result = 10;
/// Credentials wrong or not allowed (HTTP 401/403, distribution error `PERMISSION_DENIED`).
/// Action: do not retry; contact Klarna merchant support.
pub const KPOS_E_PERMISSION_DENIED: kpos_result = 11;
/// Klarna system error (distribution error `UNKNOWN`/`INTERNAL_ERROR`, HTTP 5xx after retries).
/// Action: do not retry the session; contact Klarna merchant support.
pub const KPOS_E_UNKNOWN: kpos_result = 12;
/// The session or order is unknown to Klarna. Action: check the id.
pub const KPOS_E_NOT_FOUND: kpos_result = 13;
/// Not allowed in the current state (e.g. cancel after COMPLETED). Action: read the state again.
pub const KPOS_E_CONFLICT: kpos_result = 14;
/// HTTP 429 after the library's own backoff. Action: retry later.
pub const KPOS_E_RATE_LIMITED: kpos_result = 15;
/// No answer within the configured time, or `kpos_session_wait` ran out. Action: retry or cancel.
pub const KPOS_E_TIMEOUT: kpos_result = 30;
/// Connection failed or was reset, DNS, proxy. Action: retry.
pub const KPOS_E_NETWORK: kpos_result = 31;
/// Certificate or TLS handshake failure. Action: fix the trust store (`ca_file`) or the clock.
pub const KPOS_E_TLS: kpos_result = 32;
/// The server answered something unparseable or unexpected. Action: contact support.
pub const KPOS_E_PROTOCOL: kpos_result = 33;
/// The call was interrupted by `kpos_session_cancel`. Action: none.
pub const KPOS_E_CANCELLED: kpos_result = 50;
/// A bug in the library (a caught panic). Action: report it; the process is unharmed.
pub const KPOS_E_INTERNAL: kpos_result = 90;

/// Nothing to do.
pub const KPOS_ACTION_NONE: u32 = 0;
/// Create the request again with appropriate input (check ids, amounts, fields).
pub const KPOS_ACTION_FIX_INPUT: u32 = 1;
/// Retry later; the failure is temporary.
pub const KPOS_ACTION_RETRY: u32 = 2;
/// Do not retry; contact Klarna merchant support (quote the correlation id).
pub const KPOS_ACTION_CONTACT_SUPPORT: u32 = 3;
/// Fix the calling code or configuration.
pub const KPOS_ACTION_FIX_CALLER: u32 = 4;

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

struct LastError {
    code: Code,
    message: CString,
    json: CString,
    field: Option<CString>,
    klarna_code: Option<CString>,
    correlation_id: Option<CString>,
    http_status: u32,
    retry_after_ms: u32,
}

pub(crate) fn set_last_error(e: Error) {
    let last = LastError {
        code: e.code,
        message: to_cstring(&e.to_string()),
        json: to_cstring(&e.to_json().to_string()),
        field: e.field.as_deref().map(to_cstring),
        klarna_code: e.klarna_error_code.as_deref().map(to_cstring),
        correlation_id: e.correlation_id.as_deref().map(to_cstring),
        http_status: e.http_status.map_or(0, u32::from),
        retry_after_ms: e
            .retry_after
            .map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
    };
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(last));
}

/// One optional string of the thread's last error, or NULL.
fn last_error_str(pick: fn(&LastError) -> Option<&CString>) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        LAST_ERROR.with(|l| {
            l.borrow()
                .as_ref()
                .and_then(pick)
                .map_or(std::ptr::null(), |s| s.as_ptr())
        })
    })
}

/// The symbolic name of a code, e.g. `"KPOS_E_BAD_REQUEST"`. Static; an unknown number gives
/// `"KPOS_E_UNRECOGNIZED"`.
#[no_mangle]
pub extern "C" fn kpos_result_name(code: u32) -> *const c_char {
    boundary_value(c"KPOS_E_UNRECOGNIZED".as_ptr(), || {
        match Code::from_u32(code) {
            Some(c) => code_strings(c).name.as_ptr(),
            None => c"KPOS_E_UNRECOGNIZED".as_ptr(),
        }
    })
}

/// One English sentence describing a code. Static; an unknown number gives a generic sentence.
#[no_mangle]
pub extern "C" fn kpos_result_text(code: u32) -> *const c_char {
    let unknown = c"Unrecognized result code (from a newer library version?).".as_ptr();
    boundary_value(unknown, || match Code::from_u32(code) {
        Some(c) => code_strings(c).text.as_ptr(),
        None => unknown,
    })
}

/// What to do about a code: one of `KPOS_ACTION_*`. An unknown number gives
/// `KPOS_ACTION_CONTACT_SUPPORT`.
#[no_mangle]
pub extern "C" fn kpos_result_action(code: u32) -> u32 {
    boundary_value(KPOS_ACTION_CONTACT_SUPPORT, || match Code::from_u32(code) {
        Some(c) => c.action() as u32,
        None => KPOS_ACTION_CONTACT_SUPPORT,
    })
}

/// Code of the most recent failing `kpos_` call on this thread, `KPOS_OK` if none failed yet.
/// Successful calls do not reset it (like `errno`).
#[no_mangle]
#[must_use]
pub extern "C" fn kpos_last_error_code() -> kpos_result {
    boundary_value(KPOS_E_INTERNAL, || {
        LAST_ERROR.with(|l| l.borrow().as_ref().map_or(KPOS_OK, |e| e.code as u32))
    })
}

/// Message of the most recent failing call on this thread, or `""`: `KPOS_E_NAME: text`,
/// followed by ` (correlation_id ID)` when Klarna gave one (the same id as
/// `kpos_last_error_correlation_id`). Owned by the library; valid until the next failing `kpos_`
/// call on this thread.
#[no_mangle]
pub extern "C" fn kpos_last_error_message() -> *const c_char {
    boundary_value(c"".as_ptr(), || {
        LAST_ERROR.with(|l| {
            l.borrow()
                .as_ref()
                .map_or(c"".as_ptr(), |e| e.message.as_ptr())
        })
    })
}

/// The whole detail of the most recent failure on this thread as one JSON object:
/// `{"code","name","message","action","http_status","klarna_error_code","error_messages",
/// "correlation_id","field","retry_after_ms"}` (absent facts are `null`; `retry_after_ms`, with
/// `KPOS_E_RATE_LIMITED`, is how long Klarna asked this client to wait before the next request of
/// the same kind), or `"{}"` when nothing failed yet.
/// Owned by the library; valid until the next failing `kpos_` call on this thread.
#[no_mangle]
pub extern "C" fn kpos_last_error_json() -> *const c_char {
    boundary_value(c"{}".as_ptr(), || {
        LAST_ERROR.with(|l| {
            l.borrow()
                .as_ref()
                .map_or(c"{}".as_ptr(), |e| e.json.as_ptr())
        })
    })
}

/// Path of the offending field of the most recent failure on this thread (e.g.
/// `order_lines[1].total_tax_amount`, a configuration key such as `journal_dir`, or the name of
/// a refused argument such as `order_json`), or NULL when the failure named no field or nothing
/// failed yet. Owned by the library; valid until the next
/// failing `kpos_` call on this thread. Thread-safe: each thread reads its own last error.
/// Never fails (no error code of its own).
#[no_mangle]
pub extern "C" fn kpos_last_error_field() -> *const c_char {
    last_error_str(|e| e.field.as_ref())
}

/// Klarna's error code of the most recent failure on this thread (e.g. `BAD_VALUE`,
/// `NO_SUCH_ORDER`, or the distribution error code of a FAILED session), or NULL when Klarna
/// gave none or nothing failed yet. Owned by the library; valid until the next failing `kpos_`
/// call on this thread. Thread-safe: each thread reads its own last error. Never fails.
#[no_mangle]
pub extern "C" fn kpos_last_error_klarna_code() -> *const c_char {
    last_error_str(|e| e.klarna_code.as_ref())
}

/// Klarna's correlation id of the most recent failure on this thread (quote it to Klarna's
/// merchant support), or NULL when no answer from Klarna carried one or nothing failed yet.
/// Owned by the library; valid until the next failing `kpos_` call on this thread. Thread-safe:
/// each thread reads its own last error. Never fails.
#[no_mangle]
pub extern "C" fn kpos_last_error_correlation_id() -> *const c_char {
    last_error_str(|e| e.correlation_id.as_ref())
}

/// HTTP status of Klarna's answer for the most recent failure on this thread (e.g. 400, 404,
/// 503), or 0 when the failure had no HTTP answer (refused locally, transport failure) or
/// nothing failed yet. Thread-safe: each thread reads its own last error. Never fails.
#[no_mangle]
pub extern "C" fn kpos_last_error_http_status() -> u32 {
    boundary_value(0, || {
        LAST_ERROR.with(|l| l.borrow().as_ref().map_or(0, |e| e.http_status))
    })
}

/// With `KPOS_E_RATE_LIMITED`: how many milliseconds Klarna asked this client to wait (its
/// `Retry-After`) before the next request of the same kind (session creations, or everything
/// else), counted from the failure; 0 when the most recent failure on this thread carried no
/// such wait or nothing failed yet. The same number as `retry_after_ms` of
/// `kpos_last_error_json`. Thread-safe: each thread reads its own last error. Never fails.
#[no_mangle]
pub extern "C" fn kpos_last_error_retry_after_ms() -> u32 {
    boundary_value(0, || {
        LAST_ERROR.with(|l| l.borrow().as_ref().map_or(0, |e| e.retry_after_ms))
    })
}

/// NUL-terminated copies of every code's name and text, built once and never freed.
struct CodeStrings {
    name: CString,
    text: CString,
}

static CODE_STRINGS: std::sync::LazyLock<Vec<(Code, CodeStrings)>> =
    std::sync::LazyLock::new(|| {
        Code::ALL
            .iter()
            .map(|c| {
                let strings = CodeStrings {
                    name: to_cstring(c.name()),
                    text: to_cstring(c.text()),
                };
                (*c, strings)
            })
            .collect()
    });

fn code_strings(code: Code) -> &'static CodeStrings {
    &CODE_STRINGS
        .iter()
        .find(|(c, _)| *c == code)
        .expect("every code has strings")
        .1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_constants_match_the_core_codes() {
        let pairs = [
            (KPOS_OK, Code::Ok),
            (KPOS_E_INVALID_ARGUMENT, Code::InvalidArgument),
            (KPOS_E_BAD_REQUEST, Code::BadRequest),
            (KPOS_E_PERMISSION_DENIED, Code::PermissionDenied),
            (KPOS_E_UNKNOWN, Code::Unknown),
            (KPOS_E_NOT_FOUND, Code::NotFound),
            (KPOS_E_CONFLICT, Code::Conflict),
            (KPOS_E_RATE_LIMITED, Code::RateLimited),
            (KPOS_E_TIMEOUT, Code::Timeout),
            (KPOS_E_NETWORK, Code::Network),
            (KPOS_E_TLS, Code::Tls),
            (KPOS_E_PROTOCOL, Code::Protocol),
            (KPOS_E_CANCELLED, Code::Cancelled),
            (KPOS_E_INTERNAL, Code::Internal),
        ];
        assert_eq!(pairs.len(), Code::ALL.len());
        for (n, c) in pairs {
            assert_eq!(n, c as u32, "{}", c.name());
        }
    }
}
