//! `kpos_client`: credentials, endpoint and the connection pool.

use std::ffi::c_char;
use std::sync::Arc;

use super::handle::Registry;
use super::{boundary, kpos_result, require_non_null, write_out};
use crate::core::client::Client;
use crate::core::config::Config;
use crate::core::Error;

/// A Klarna client: configuration, credentials and a keep-alive connection pool. Thread-safe:
/// one client is meant to be shared by every till of a process.
pub struct kpos_client {
    _private: [u8; 0],
}

pub(crate) static CLIENTS: Registry<Client> = Registry::new("client");

/// The live client behind a handle.
pub(crate) fn client_arg(client: *const kpos_client) -> Result<Arc<Client>, Error> {
    CLIENTS.get(client as usize)
}

/// Creates a client from a configuration JSON object (keys: `api_url` or `region` +
/// `environment`, `username`, `password`, `user_agent`, `connect_timeout_ms`,
/// `request_timeout_ms`, `poll_interval_ms`, `max_retries`, `max_safe_requests_per_second`,
/// `ca_file`, `trust_store`, `proxy`, `allow_insecure_http`, `webhook_url` (the till backend's endpoint for
/// Klarna's status callbacks; see `kpos_webhook_verify`), `webhook_poll_interval_ms`,
/// `webhook_secret` and `webhook_secret_previous` (32 to 64 random bytes as hex or base64url,
/// e.g. from `openssl rand -hex 32`: callbacks verifiable by any client holding the secret),
/// `journal_dir`; docs/configuration.md gives each key's type, default and meaning).
/// `config_json` NULL reads `KLARNA_API_URL`, `KLARNA_USERNAME`, `KLARNA_PASSWORD` (and
/// `KLARNA_USER_AGENT`, `KLARNA_JOURNAL_DIR`, `KLARNA_WEBHOOK_SECRET`,
/// `KLARNA_WEBHOOK_SECRET_PREVIOUS`) from the environment, over the JSON file named by
/// `KLARNA_POS_CONFIG` when that is set (its errors name the file). Without a `proxy` key the
/// proxy comes from `https_proxy` and the other variables curl reads (docs/operations.md).
/// No network traffic happens
/// here; with `journal_dir` the directory is created when missing (mode 0700) and its journal
/// opened (see `kpos_journal_pending`); on Unix it must belong to the till's user and must not
/// be writable by group or others. A port in a URL must be 1..65535, a host name ASCII (give
/// an internationalised name in its IDNA `xn--` form), and `username` must not contain `:`.
///
/// On success writes a new client to `*out`; release it with `kpos_client_free`.
/// Returns `KPOS_OK`, or `KPOS_E_INVALID_ARGUMENT` (NULL `out`, invalid UTF-8 or JSON, unknown
/// key, bad value, a `journal_dir` that cannot be created, written or locked, that another user
/// owns or may write to, or that holds a journal of a newer format: the last error names the
/// key in `field`).
///
/// # Safety
/// `config_json` must be NULL or a NUL-terminated string; `out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_client_new(
    config_json: *const c_char,
    out: *mut *mut kpos_client,
) -> kpos_result {
    boundary(|| {
        super::install_fork_handlers();
        require_non_null!(out, "out");
        let config = if config_json.is_null() {
            Config::from_env()?
        } else {
            Config::from_json(super::str_arg(config_json, "config_json")?)?
        };
        let client = Client::new(config)?;
        let handle = CLIENTS.insert(client);
        write_out(out, handle as *mut kpos_client);
        Ok(())
    })
}

/// Releases a client; its credentials are wiped from memory once the last session using it is
/// freed too. NULL and an already freed client are no-ops. Sessions created from it stay usable.
///
/// # Safety
/// `client` must be NULL or a handle from `kpos_client_new`.
#[no_mangle]
pub unsafe extern "C" fn kpos_client_free(client: *mut kpos_client) {
    super::boundary_value((), || {
        CLIENTS.remove(client as usize);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::wipe_log;
    use crate::ffi::session::{kpos_session, kpos_session_free, kpos_session_resume};

    const CONFIG: &std::ffi::CStr =
        c"{\"api_url\":\"http://127.0.0.1:9\",\"username\":\"u\",\"password\":\"pw-0123456789\"}";
    /// The Authorization header line: "Authorization: Basic " + base64("u:pw-0123456789") + CRLF.
    const AUTHORIZATION_LEN: usize = 21 + 20 + 2;

    fn new_client() -> *mut kpos_client {
        let mut client = std::ptr::null_mut();
        assert_eq!(unsafe { kpos_client_new(CONFIG.as_ptr(), &mut client) }, 0);
        client
    }

    #[test]
    fn freeing_a_client_wipes_its_password_and_authorization_header() {
        let client = new_client();
        wipe_log::take();
        unsafe { kpos_client_free(client) };
        let mut wiped = wipe_log::take();
        wiped.sort();
        assert_eq!(wiped, [(13, true), (AUTHORIZATION_LEN, true)]);
    }

    #[test]
    fn credentials_live_until_the_last_session_of_a_freed_client_is_freed() {
        let client = new_client();
        let mut session: *mut kpos_session = std::ptr::null_mut();
        let rc = unsafe {
            kpos_session_resume(
                client,
                c"id-1".as_ptr(),
                c"http://127.0.0.1:9/instore/v1/distributions/id-1".as_ptr(),
                &mut session,
            )
        };
        assert_eq!(rc, 0);
        wipe_log::take();
        unsafe { kpos_client_free(client) };
        assert!(
            wipe_log::take().is_empty(),
            "the session still uses the client"
        );
        unsafe { kpos_session_free(session) };
        assert_eq!(wipe_log::take().len(), 2);
    }
}
