//! Status events (`kpos_session_watch`) and the status texts in the cashier's and the
//! customer's language.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::LazyLock;

use super::session::{kpos_session, session_arg};
use super::{boundary, boundary_value, kpos_result, to_cstring};
use crate::core::status::Status;
use crate::core::texts::{self, Audience};

/// Receives a session's status (`KPOS_STATUS_*`) from `kpos_session_watch`: first the status at
/// the time of the watch, then each change in order, the last call with a terminal status
/// (COMPLETED, CANCELED, FAILED, EXPIRED). `session` is the watched handle, `userdata` the
/// pointer given to `kpos_session_watch`.
///
/// Called on the library's listener thread, one call at a time for the whole process (never on
/// the thread that called `kpos_session_watch`): return quickly, e.g. post a message to the
/// till's UI thread (Win32: `PostMessage(hwnd, WM_APP + n, status, 0)`). It may call any
/// `kpos_` function, including `kpos_session_watch(session, NULL, NULL)`, `kpos_session_cancel`
/// and `kpos_session_free` on its own session (see `kpos_session_watch`). Must not unwind (no C++
/// exceptions, no longjmp).
pub type kpos_status_listener =
    Option<unsafe extern "C" fn(userdata: *mut c_void, session: *mut kpos_session, status: u32)>;

struct UserData(*mut c_void);
// The caller promises that userdata may be used from the listener thread (documented below).
unsafe impl Send for UserData {}

/// Follows the session in the background and calls `cb(userdata, s, status)`: first, at once,
/// with the current status, then once per status change, in order, and exactly once with the
/// final status (COMPLETED, CANCELED, FAILED or EXPIRED; after that, never again). The statuses come
/// from status reads paced like `kpos_session_wait`'s (`poll_interval_ms`, growing while nothing
/// changes; `webhook_poll_interval_ms` for a session followed by webhook, whose callbacks passed
/// to `kpos_webhook_verify` reach the listener at once), and from the till's own
/// `kpos_session_poll` / `kpos_session_wait` / `kpos_session_cancel`. A failed status read is
/// logged and read again later; it ends nothing. Watching a session already watched replaces
/// the listener (the old one is ended first, as by `kpos_session_watch(s, NULL, NULL)`).
///
/// Ending a watch: `kpos_session_watch(s, NULL, NULL)` (no final call) and
/// `kpos_session_free(s)` end it; `kpos_session_cancel(s)` ends it after the final call with the
/// cancel's outcome (CANCELED, or COMPLETED when the payment completed first) has returned, or
/// without a final call when the cancel fails. When any of them returns, `cb` is not running and
/// will not run again. Called from inside a listener they do not wait: from inside this
/// session's own listener the running call is the last one (after `kpos_session_cancel` the
/// final call still follows, once the running call has returned); any other session's listener
/// is not running then (listeners run one at a time).
///
/// Threads: the library runs one poller thread per client with watched sessions and one
/// listener thread for the process (both start when needed and end when idle), so 100 watched
/// sessions of one client take two threads. A watch belongs to the process that started it: in
/// a `fork()`ed child its listener is never called, and ending it there waits for nothing.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` for a NULL or freed session, or `cb` NULL with
/// `userdata` not NULL; `KPOS_E_INTERNAL` when a thread cannot be started.
///
/// # Safety
/// `cb` must stay callable and `userdata` usable from the listener thread until the watch ends.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_watch(
    s: *mut kpos_session,
    cb: kpos_status_listener,
    userdata: *mut c_void,
) -> kpos_result {
    boundary(|| {
        let h = session_arg(s)?;
        match cb {
            None => {
                if !userdata.is_null() {
                    return Err(crate::core::Error::invalid_argument(
                        "userdata must be NULL when cb is NULL (that ends the watch)",
                    ));
                }
                h.session.unwatch();
                Ok(())
            }
            Some(f) => {
                let data = UserData(userdata);
                let handle = s as usize;
                h.session.watch(Box::new(move |status: Status| {
                    let data = &data;
                    unsafe { f(data.0, handle as *mut kpos_session, status as u32) };
                }))
            }
        }
    })
}

/// The text to show the cashier for `status` (`KPOS_STATUS_*`) in `language`, a BCP 47 tag such
/// as `"sv"`, `"sv-SE"`, `"nb-NO"`, `"de-AT"` or `"fr-BE"` (case-insensitive; `_` is read as
/// `-`): the region's own text where it has one (`en-GB` writes "cancelled"), else the
/// language's, else English. NULL or an unknown language gives English, an unknown status the
/// neutral "checking" text of the language. Static, never freed, never NULL.
///
/// Languages: en, sv, nb (also for `no` and `nn`), da, fi, de, nl, fr, es, it, pl, cs, pt
/// (docs/events.md has the table). Every text fits a two-line display of 20 characters per
/// line, wrapped at spaces; the longest is 39 characters (Portuguese, "Digitalizar o código QR
/// com o telemóvel").
///
/// # Safety
/// `language` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kpos_status_display_text_for(
    status: u32,
    language: *const c_char,
) -> *const c_char {
    text_for(status, language, Audience::Cashier)
}

/// The text to show the customer for `status` in `language` (as for
/// `kpos_status_display_text_for`): DISTRIBUTED "Scan the QR code with your phone camera",
/// ACCESSED "Confirm in the Klarna app", COMPLETED "Payment approved. Thank you!", ... in the
/// customer's language. Every text fits a two-line display of 32 characters per line, wrapped at
/// spaces; the longest are 45 characters (German, "Scannen Sie den QR-Code mit Ihrer
/// Handykamera", and Dutch). Static, never freed, never NULL.
///
/// # Safety
/// `language` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kpos_status_customer_text_for(
    status: u32,
    language: *const c_char,
) -> *const c_char {
    text_for(status, language, Audience::Customer)
}

unsafe fn text_for(status: u32, language: *const c_char, audience: Audience) -> *const c_char {
    let english = c"Checking the payment status...".as_ptr();
    boundary_value(english, || {
        let tag = if language.is_null() {
            None
        } else {
            // A tag that is not UTF-8 names no language of the table: English.
            Some(CStr::from_ptr(language).to_str().unwrap_or(""))
        };
        let status = Status::from_u32(status).unwrap_or(Status::Unknown);
        c_text(texts::text(status, tag, audience))
    })
}

/// The static C string of a text of the table, made once.
fn c_text(text: &'static str) -> *const c_char {
    static C_TEXTS: LazyLock<HashMap<&'static str, CString>> = LazyLock::new(|| {
        let mut all = HashMap::new();
        let mut add = |t: &'static str| {
            all.entry(t).or_insert_with(|| to_cstring(t));
        };
        for l in texts::LANGUAGES {
            for s in Status::ALL {
                add(l.cashier.get(s));
                add(l.customer.get(s));
            }
        }
        for r in texts::REGIONS {
            add(r.cashier_canceled);
            add(r.customer_canceled);
        }
        all
    });
    C_TEXTS
        .get(text)
        .map_or(c"Checking the payment status...".as_ptr(), |c| c.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(status: u32, language: Option<&str>, customer: bool) -> String {
        let lang = language.map(|l| CString::new(l).unwrap());
        let ptr = lang.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let out = unsafe {
            if customer {
                kpos_status_customer_text_for(status, ptr)
            } else {
                kpos_status_display_text_for(status, ptr)
            }
        };
        assert!(!out.is_null());
        unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string()
    }

    #[test]
    fn texts_for_every_language_and_status_are_static_and_never_null() {
        for l in texts::LANGUAGES {
            for s in Status::ALL {
                assert_eq!(text(s as u32, Some(l.tag), false), l.cashier.get(s));
                assert_eq!(text(s as u32, Some(l.tag), true), l.customer.get(s));
            }
        }
        assert_eq!(
            text(12345, Some("sv-SE"), false),
            "Kontrollerar betalstatus..."
        );
        assert_eq!(text(4, None, true), "Payment approved. Thank you!");
        assert_eq!(
            text(4, Some("sv_se"), true),
            "Betalningen är godkänd. Tack!"
        );
        let invalid_utf8 = [0xffu8, 0];
        let out = unsafe { kpos_status_display_text_for(4, invalid_utf8.as_ptr().cast()) };
        assert_eq!(
            unsafe { CStr::from_ptr(out) }.to_str().unwrap(),
            "Payment is done"
        );
    }

    #[test]
    fn the_documented_longest_texts_are_the_longest() {
        let longest = |customer: bool| {
            texts::LANGUAGES
                .iter()
                .flat_map(|l| {
                    Status::ALL.map(|s| {
                        if customer {
                            l.customer.get(s)
                        } else {
                            l.cashier.get(s)
                        }
                    })
                })
                .map(|t| t.chars().count())
                .max()
                .unwrap()
        };
        // As the header says (and docs/events.md).
        assert_eq!(longest(false), 39);
        assert_eq!(longest(true), 45);
    }
}
