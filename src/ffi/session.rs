//! `kpos_session`: one in-store payment.

use std::ffi::{c_char, CString};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::client::{client_arg, kpos_client};
use super::handle::Registry;
use super::{
    boundary, boundary_value, kpos_result, require_non_null, str_arg, to_cstring, write_out,
};
use crate::core::session::Session;
use crate::core::status::Status;
use crate::core::{Code, Error};

/// Created locally; no status read yet.
pub const KPOS_STATUS_CREATED: u32 = 0;
/// Klarna is preparing the distribution (older API versions).
pub const KPOS_STATUS_WAITING: u32 = 1;
/// The QR code / payment link is ready: show it (screen at full brightness).
pub const KPOS_STATUS_DISTRIBUTED: u32 = 2;
/// The customer opened it: show "payment in progress".
pub const KPOS_STATUS_ACCESSED: u32 = 3;
/// Payment done, order placed: `kpos_session_order_id` is set. Terminal.
pub const KPOS_STATUS_COMPLETED: u32 = 4;
/// Cancelled by the till or the customer. Terminal.
pub const KPOS_STATUS_CANCELED: u32 = 5;
/// Klarna could not complete it: `kpos_session_failure` tells why. Terminal.
pub const KPOS_STATUS_FAILED: u32 = 6;
/// The session ran out of time. Terminal.
pub const KPOS_STATUS_EXPIRED: u32 = 7;
/// A status this library version does not know (Klarna added one). Not terminal, not an error:
/// keep waiting.
pub const KPOS_STATUS_UNKNOWN: u32 = 99;

/// One in-store payment. Use it from one thread at a time, except `kpos_session_cancel`, which
/// any thread may call at any moment.
pub struct kpos_session {
    _private: [u8; 0],
}

/// The core session plus the C strings handed out for it. Each string is created once and never
/// replaced, so a pointer returned by a getter stays valid until `kpos_session_free`.
pub(super) struct SessionHandle {
    pub(super) session: Arc<Session>,
    id: CString,
    result_url: CString,
    qr_url: OnceLock<CString>,
    payment_link: OnceLock<CString>,
    order_id: OnceLock<CString>,
}

static SESSIONS: Registry<SessionHandle> = Registry::new("session");

/// The session registry's lock, for the fork handlers.
pub(crate) fn registry_fork_lock() -> &'static dyn crate::core::fork::ForkLock {
    SESSIONS.fork_lock()
}

pub(super) fn session_arg(s: *const kpos_session) -> Result<Arc<SessionHandle>, Error> {
    SESSIONS.get(s as usize)
}

fn publish(session: Arc<Session>) -> *mut kpos_session {
    let handle = SessionHandle {
        id: to_cstring(session.id()),
        result_url: to_cstring(session.result_url()),
        session,
        qr_url: OnceLock::new(),
        payment_link: OnceLock::new(),
        order_id: OnceLock::new(),
    };
    SESSIONS.insert(handle) as *mut kpos_session
}

/// Validates `order_json` locally (nothing is sent when it is refused), then starts a Klarna
/// in-store session: one `POST /payments/v1/sessions`, never repeated automatically. Fills
/// `acquiring_channel: in_store` and `distribution.method: one_qr` when absent (the older `qr` and
/// `payment_link` are sent as `one_qr`); unknown fields pass through untouched; an
/// `attachment.body` given as a JSON object is serialised for Klarna. The rules and their limits:
/// docs/validation.md.
///
/// On success writes a new session to `*out` (status `KPOS_STATUS_CREATED`); release it with
/// `kpos_session_free`. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid
/// UTF-8 or JSON); `KPOS_E_BAD_REQUEST` (refused locally or by Klarna; the last error's `field`
/// names the first offending field, e.g. `order_lines[1].total_tax_amount`);
/// `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED` (Klarna's limit on session creations was
/// reached: the creation is not repeated; the last error's `retry_after_ms` says when to try
/// again, and a creation before then is refused at once with nothing sent); `KPOS_E_UNKNOWN`;
/// `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL` (also, with field
/// `result_url`, when the answer's result_url is not on `api_url`'s origin: it is never called
/// with the credentials).
/// After `KPOS_E_TIMEOUT` or `KPOS_E_NETWORK` the session may exist at Klarna without the till knowing its id: it expires
/// unused, and no money moves until a customer scans a QR the till never showed.
///
/// With `journal_dir` the session is recorded (and fsynced) before the request is sent and stays
/// listed by `kpos_journal_pending` until it is seen terminal; a journal that cannot be written
/// gives `KPOS_E_INVALID_ARGUMENT` (field `journal_dir`) and nothing is sent.
///
/// # Safety
/// `order_json` must be NULL or NUL-terminated; `out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_create(
    client: *mut kpos_client,
    order_json: *const c_char,
    out: *mut *mut kpos_session,
) -> kpos_result {
    boundary(|| {
        require_non_null!(out, "out");
        let client = client_arg(client)?;
        let order = str_arg(order_json, "order_json")?;
        let session = client.create_session(order)?;
        write_out(out, publish(session));
        Ok(())
    })
}

/// Continues a session created earlier, e.g. after a till restart, from its id and
/// `result_url` (both as returned by the getters, or listed by `kpos_journal_pending`). No
/// network traffic: call `kpos_session_poll` to learn its status. With `journal_dir`, a session
/// the journal lists is matched by its id, and its record closes once the session is seen
/// terminal. A resumed session is followed by polling. With `webhook_secret` configured,
/// `kpos_webhook_verify` takes its callbacks too: one that would change its status makes it read
/// its status from Klarna (one GET), since the callback's token was made for a URL this process
/// never saw and does not vouch for the session the body names. Without `webhook_secret`, its
/// webhook token lived in the old process, and `kpos_webhook_verify` answers its callbacks with
/// `KPOS_E_NOT_FOUND`.
///
/// Returns `KPOS_OK` or `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, empty id, a result_url
/// that is not an absolute https URL, or plain http to a non-loopback host without
/// `allow_insecure_http`, an unreadable journal). A result_url on another origin (scheme, host,
/// port; default ports normalised) than `api_url` is refused too, with field `result_url`:
/// Klarna's lives on the API host, and the client's credentials go nowhere else.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; `out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_resume(
    client: *mut kpos_client,
    session_id: *const c_char,
    result_url: *const c_char,
    out: *mut *mut kpos_session,
) -> kpos_result {
    boundary(|| {
        require_non_null!(out, "out");
        let client = client_arg(client)?;
        let id = str_arg(session_id, "session_id")?;
        let url = str_arg(result_url, "result_url")?;
        let session = client.resume_session(id, url)?;
        write_out(out, publish(session));
        Ok(())
    })
}

/// Klarna's session id. Owned by the session, valid until `kpos_session_free`; NULL for a NULL or
/// freed session.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_id(s: *const kpos_session) -> *const c_char {
    boundary_value(std::ptr::null(), || match session_arg(s) {
        Ok(h) => h.id.as_ptr(),
        Err(_) => std::ptr::null(),
    })
}

/// The absolute status URL Klarna returned (keep it with the id to resume after a restart).
/// Owned by the session, valid until `kpos_session_free`; NULL for a NULL or freed session.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_result_url(s: *const kpos_session) -> *const c_char {
    boundary_value(std::ptr::null(), || match session_arg(s) {
        Ok(h) => h.result_url.as_ptr(),
        Err(_) => std::ptr::null(),
    })
}

/// The last known status (`KPOS_STATUS_*`), without network traffic. `KPOS_STATUS_UNKNOWN` for
/// a NULL or freed session.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_status(s: *const kpos_session) -> u32 {
    boundary_value(KPOS_STATUS_UNKNOWN, || match session_arg(s) {
        Ok(h) => h.session.status() as u32,
        Err(_) => KPOS_STATUS_UNKNOWN,
    })
}

/// Reads the status once from Klarna (GET on the result_url, retried on network errors and
/// 5xx) and writes it to `*status_out`.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_PERMISSION_DENIED`; `KPOS_E_NOT_FOUND`;
/// `KPOS_E_RATE_LIMITED` (also at once, with nothing sent, while an earlier `Retry-After` of
/// Klarna to this client has not passed; the last error's `retry_after_ms` says how long); `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`;
/// `KPOS_E_TLS`; `KPOS_E_PROTOCOL`. A status Klarna adds later is `KPOS_STATUS_UNKNOWN`, not an
/// error.
///
/// # Safety
/// `s` must be NULL or a handle from this library; `status_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_poll(
    s: *mut kpos_session,
    status_out: *mut u32,
) -> kpos_result {
    boundary(|| {
        require_non_null!(status_out, "status_out");
        let h = session_arg(s)?;
        let status = h.session.poll()?;
        write_out(status_out, status as u32);
        Ok(())
    })
}

/// Blocks until the status differs from the one last returned by `kpos_session_poll` /
/// `kpos_session_wait`, or is terminal, polling at the configured `poll_interval_ms` (growing up
/// to 5x while nothing changes, each pause lengthened by a random part of up to a quarter, and
/// honouring Klarna's `Retry-After`). Network failures and Klarna's rate limit (429) in between
/// are waited through until the deadline: after a 429 the next read comes once `Retry-After` has
/// passed, at a random moment of the second after it. Returns within `timeout_ms` plus at most one
/// `request_timeout_ms`, also when many threads wait on sessions of one client (a status read
/// whose pacing slot comes after the deadline is not sent) and when a cancel's DELETE does not
/// answer.
///
/// Returns `KPOS_OK` with the new status in `*status_out`; `KPOS_E_TIMEOUT` when `timeout_ms`
/// passes (then `*status_out` still receives the last known status); `KPOS_E_CANCELLED` when
/// `kpos_session_cancel` is called meanwhile from another thread (within milliseconds of the
/// cancel's answer, and at the latest at the deadline or one `request_timeout_ms` after the
/// cancel, whichever is later; if Klarna reports the payment COMPLETED instead, that wins and
/// `KPOS_OK` is returned); never `KPOS_E_RATE_LIMITED`: when Klarna's `Retry-After` ends after
/// the deadline, no status read is sent before it ends and the wait returns `KPOS_E_TIMEOUT` at
/// its deadline (a webhook merged meanwhile still ends it at once); `KPOS_E_PERMISSION_DENIED`,
/// `KPOS_E_NOT_FOUND`, `KPOS_E_INVALID_ARGUMENT`.
///
/// # Safety
/// `s` must be NULL or a handle from this library; `status_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_wait(
    s: *mut kpos_session,
    timeout_ms: u32,
    status_out: *mut u32,
) -> kpos_result {
    boundary(|| {
        require_non_null!(status_out, "status_out");
        let h = session_arg(s)?;
        match h.session.wait(Duration::from_millis(timeout_ms.into())) {
            Ok(status) => {
                write_out(status_out, status as u32);
                Ok(())
            }
            Err(e) if e.code == Code::Timeout => {
                write_out(status_out, h.session.status() as u32);
                Err(e)
            }
            Err(e) => Err(e),
        }
    })
}

/// Klarna's QR code image URL (show it, or render it with your own QR code). Owned by the
/// session, valid until `kpos_session_free`; NULL until the session is distributed.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_qr_url(s: *const kpos_session) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        write_once_getter(s, |h| &h.qr_url, |snap| snap.qr_url)
    })
}

/// The payment link for the customer's phone. Owned by the session, valid until
/// `kpos_session_free`; NULL if Klarna gave none.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_payment_link(s: *const kpos_session) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        write_once_getter(s, |h| &h.payment_link, |snap| snap.payment_link)
    })
}

/// The Klarna order id of a COMPLETED payment (for capture, refund, cancel). Owned by the
/// session, valid until `kpos_session_free`; NULL until COMPLETED.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_order_id(s: *const kpos_session) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        write_once_getter(s, |h| &h.order_id, |snap| snap.order_id)
    })
}

fn write_once_getter(
    s: *const kpos_session,
    slot: impl Fn(&SessionHandle) -> &OnceLock<CString>,
    field: impl Fn(crate::core::session::Snapshot) -> Option<String>,
) -> *const c_char {
    let Ok(h) = session_arg(s) else {
        return std::ptr::null();
    };
    let cell = slot(&h);
    if let Some(c) = cell.get() {
        return c.as_ptr();
    }
    match field(h.session.snapshot()) {
        Some(v) => cell.get_or_init(|| to_cstring(&v)).as_ptr(),
        None => std::ptr::null(),
    }
}

/// Why a FAILED session failed: `KPOS_E_BAD_REQUEST`, `KPOS_E_PERMISSION_DENIED` or
/// `KPOS_E_UNKNOWN` (Klarna's distribution error codes; the detail goes to the last error).
/// `KPOS_OK` when the session has not failed; `KPOS_E_INVALID_ARGUMENT` for a NULL or freed
/// session.
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_failure(s: *const kpos_session) -> kpos_result {
    boundary(|| {
        let h = session_arg(s)?;
        match h.session.failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

/// Cancels the payment at Klarna (`DELETE` of the session) and wakes a `kpos_session_wait` on
/// another thread. Callable from any thread at any moment; idempotent (cancelling a CANCELED,
/// FAILED or EXPIRED session is `KPOS_OK`). Klarna recommends cancelling when the till gives up
/// waiting. Ends a `kpos_session_watch`: when it returns, the listener's final call (CANCELED,
/// or COMPLETED) has returned; see `kpos_session_watch` for a cancel from inside a listener.
///
/// Returns `KPOS_OK`; `KPOS_E_CONFLICT` once the payment COMPLETED (refund it instead; the status
/// becomes COMPLETED); `KPOS_E_NOT_FOUND`; `KPOS_E_INVALID_ARGUMENT`; transport errors (then call
/// again). A cancel is not refused because an earlier request of this client met Klarna's rate
/// limit: while that `Retry-After` runs (up to one `request_timeout_ms`) the cancel waits for it
/// to end and is sent then; only a longer one gives `KPOS_E_RATE_LIMITED` at once, nothing sent
/// (call again after the last error's `retry_after_ms`).
///
/// # Safety
/// `s` must be NULL or a handle from this library.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_cancel(s: *mut kpos_session) -> kpos_result {
    boundary(|| {
        let h = session_arg(s)?;
        let outcome = h.session.cancel();
        h.session.end_watch_after_cancel();
        outcome
    })
}

/// Releases a session (strings from its getters become invalid). Does not cancel it at Klarna.
/// Ends a `kpos_session_watch` without a final call: when it returns, the listener is not
/// running and will not run again (from inside the session's own listener: the running call is
/// the last). NULL and an already freed session are no-ops.
///
/// # Safety
/// `s` must be NULL or a handle from this library, not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn kpos_session_free(s: *mut kpos_session) {
    boundary_value((), || {
        if let Ok(h) = session_arg(s) {
            if SESSIONS.remove(s as usize) {
                h.session.unwatch();
            }
        }
    })
}

/// The status name, e.g. `"COMPLETED"`. Static; `"UNKNOWN"` for a number this version does not
/// know.
#[no_mangle]
pub extern "C" fn kpos_status_name(status: u32) -> *const c_char {
    boundary_value(c"UNKNOWN".as_ptr(), || {
        status_strings()
            .iter()
            .find(|(s, _, _)| *s as u32 == status)
            .map_or(c"UNKNOWN".as_ptr(), |(_, n, _)| n.as_ptr())
    })
}

/// 1 for COMPLETED, CANCELED, FAILED and EXPIRED (the session never moves again), else 0.
#[no_mangle]
pub extern "C" fn kpos_status_is_terminal(status: u32) -> i32 {
    boundary_value(0, || {
        Status::from_u32(status).is_some_and(Status::is_terminal) as i32
    })
}

/// The English message Klarna's in-store best practices recommend showing for a status:
/// DISTRIBUTED "Scan the QR code with your phone", ACCESSED "Payment in progress", COMPLETED
/// "Payment is done", CANCELED "Payment is canceled", FAILED "Something went wrong" (show the
/// session id next to it, for Klarna's support), EXPIRED "The payment has expired", CREATED and
/// WAITING "Preparing the Klarna payment...". Static, never freed; `KPOS_STATUS_UNKNOWN` and any
/// number this version does not know give "Checking the payment status...".
#[no_mangle]
pub extern "C" fn kpos_status_display_text(status: u32) -> *const c_char {
    let unknown = c"Checking the payment status...".as_ptr();
    boundary_value(unknown, || {
        status_strings()
            .iter()
            .find(|(s, _, _)| *s as u32 == status)
            .map_or(unknown, |(_, _, text)| text.as_ptr())
    })
}

/// Name and display text of every status, made NUL-terminated once and never freed.
fn status_strings() -> &'static [(Status, CString, CString)] {
    static STRINGS: std::sync::LazyLock<Vec<(Status, CString, CString)>> =
        std::sync::LazyLock::new(|| {
            Status::ALL
                .iter()
                .map(|s| (*s, to_cstring(s.name()), to_cstring(s.display_text())))
                .collect()
        });
    &STRINGS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_static_and_unknown_numbers_get_the_neutral_text() {
        let text = |n| {
            unsafe { std::ffi::CStr::from_ptr(kpos_status_display_text(n)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(
            text(KPOS_STATUS_DISTRIBUTED),
            "Scan the QR code with your phone"
        );
        assert_eq!(text(KPOS_STATUS_ACCESSED), "Payment in progress");
        assert_eq!(text(KPOS_STATUS_COMPLETED), "Payment is done");
        assert_eq!(text(KPOS_STATUS_CANCELED), "Payment is canceled");
        assert_eq!(text(KPOS_STATUS_FAILED), "Something went wrong");
        assert_eq!(text(12345), crate::core::status::UNKNOWN_DISPLAY_TEXT);
        assert_eq!(text(KPOS_STATUS_UNKNOWN), text(12345));
        assert_eq!(
            kpos_status_display_text(KPOS_STATUS_COMPLETED),
            kpos_status_display_text(KPOS_STATUS_COMPLETED)
        );
    }

    #[test]
    fn header_status_constants_match_the_core() {
        let pairs = [
            (KPOS_STATUS_CREATED, Status::Created),
            (KPOS_STATUS_WAITING, Status::Waiting),
            (KPOS_STATUS_DISTRIBUTED, Status::Distributed),
            (KPOS_STATUS_ACCESSED, Status::Accessed),
            (KPOS_STATUS_COMPLETED, Status::Completed),
            (KPOS_STATUS_CANCELED, Status::Canceled),
            (KPOS_STATUS_FAILED, Status::Failed),
            (KPOS_STATUS_EXPIRED, Status::Expired),
            (KPOS_STATUS_UNKNOWN, Status::Unknown),
        ];
        assert_eq!(pairs.len(), Status::ALL.len());
        for (n, s) in pairs {
            assert_eq!(n, s as u32, "{}", s.name());
        }
    }
}
