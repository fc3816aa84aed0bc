//! The log callback: the one way the library reports what it does.

use std::ffi::{c_char, c_void};

use super::{boundary, kpos_result, to_cstring};
use crate::core::log::{self, Level};
use crate::core::Error;

/// Errors the till should know about.
pub const KPOS_LOG_ERROR: u32 = 1;
/// Unexpected but handled situations (retries, unknown statuses).
pub const KPOS_LOG_WARN: u32 = 2;
/// One line per session step and failed request.
pub const KPOS_LOG_INFO: u32 = 3;
/// One line per HTTP request (method, URL without query, status, time, correlation id).
pub const KPOS_LOG_DEBUG: u32 = 4;
/// Everything, including personal data from orders. Never enable in production by default.
pub const KPOS_LOG_TRACE: u32 = 5;

/// Receives one log line: `level` is a `KPOS_LOG_*` value, `message` is UTF-8, NUL-terminated and
/// valid only during the call. May be called from any thread, concurrently. Must not unwind
/// (no C++ exceptions, no longjmp). It is never called while the library holds a lock, so it
/// may call any `kpos_` function, on the client or session being logged too.
pub type kpos_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: u32, message: *const c_char)>;

struct UserData(*mut c_void);
// The caller promises that userdata may be used from any thread (documented on the export).
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Installs a process-wide log callback receiving messages up to `max_level` (`KPOS_LOG_*`);
/// `cb` NULL removes it. Credentials and webhook secrets are never logged; personal data only at
/// `KPOS_LOG_TRACE`. `userdata` is passed back unchanged and must be usable from any thread.
///
/// When it returns, the previous callback is not running on any thread and will not be called
/// again, so its `userdata` may be freed. Called from inside a log callback (a callback that
/// replaces or removes itself), the change applies to the following lines and the call returns
/// at once, without waiting for the calls in progress (its own among them).
///
/// Returns `KPOS_OK`, or `KPOS_E_INVALID_ARGUMENT` for a `max_level` outside 1..5.
///
/// # Safety
/// `cb` must be a valid function for as long as it is installed and until the
/// `kpos_set_log_callback` that replaces it has returned.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_set_log_callback(
    cb: kpos_log_callback,
    userdata: *mut c_void,
    max_level: u32,
) -> kpos_result {
    boundary(|| {
        super::install_fork_handlers();
        let level = Level::from_u32(max_level).ok_or_else(|| {
            Error::invalid_argument("max_level must be one of KPOS_LOG_ERROR..KPOS_LOG_TRACE")
        })?;
        match cb {
            None => log::set_sink(None, level),
            Some(f) => {
                let data = UserData(userdata);
                log::set_sink(
                    Some(Box::new(move |lvl: Level, msg: &str| {
                        let text = to_cstring(msg);
                        let data = &data;
                        unsafe { f(data.0, lvl as u32, text.as_ptr()) };
                    })),
                    level,
                );
            }
        }
        Ok(())
    })
}
