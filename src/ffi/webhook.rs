//! `kpos_webhook_verify`: a till backend hands over each callback it receives.

use std::ffi::c_char;

use super::client::{client_arg, kpos_client};
use super::{boundary, bytes_arg, kpos_result, require_non_null, string_out, write_out};

/// Verifies a webhook call Klarna made to a callback URL of this client's sessions (config key
/// `webhook_url`) and merges the status it reports into its session. Call it from the receiver,
/// on any thread, for every call to the `webhook_url` path; then answer the HTTP request as the
/// result says.
///
/// With config key `webhook_secret`, each callback token is HMAC-SHA256 under that secret of
/// the callback's reference, so any client configured with the same secret (or with it as
/// `webhook_secret_previous`, during a rotation) verifies the call, not only the one that
/// created the session:
/// - a client with no live session for the call (e.g. a chain's central receiver, which then
///   relays target and body to the till over its own channel) authenticates it and returns
///   `KPOS_OK` with the session id and the status the body reports, read from the body and
///   applied to nothing. Such a status is NOT confirmed: a reported COMPLETED is only a hint
///   (the till's own `kpos_webhook_verify` or a poll confirms it with Klarna). The body must
///   name its `session_id` (at most 256 bytes, no control characters, no `/`;
///   `KPOS_E_BAD_REQUEST` otherwise);
/// - the till owning the session applies the relayed call to it as described below, confirming
///   COMPLETED with one GET. A session resumed with `kpos_session_resume` takes no status from
///   the body (the token vouches for the callback URL, not for the session the body names): a
///   call that would change its status makes it read its status with one GET instead.
///
/// The token authenticates the callback URL (made by a holder of the secret, for a reference
/// used by one session only), never the body: Klarna does not sign bodies.
///
/// `target` (`target_len` bytes) is what the call was received on: the full URL, the request
/// target (`/path?query`) or the query alone; the library reads its `kpos_ref` and `kpos_token`
/// parameters. `body` (`body_len` bytes) is the request body (the status payload JSON). Both
/// are untrusted network input passed as bytes with their length, exactly as received: they
/// need not be UTF-8 and may hold NUL bytes, which are read like any other byte and never end
/// the input early (a NUL in the token or reference fails authentication,
/// `KPOS_E_PERMISSION_DENIED` or `KPOS_E_NOT_FOUND`; a NUL in the body makes it no status
/// payload, `KPOS_E_BAD_REQUEST`). Nothing about their content is reported as
/// `KPOS_E_INVALID_ARGUMENT`. An empty input is a non-NULL pointer with length 0.
///
/// What happens: the token is compared in constant time with the one made for the session the
/// reference names, before anything else, so a refused call leaves every session untouched.
/// The payload is read like a polled one and merged so that repeated, late and out-of-order
/// calls never move a session backwards (a terminal status is final). A reported COMPLETED is
/// not believed from the callback: as Klarna advises, the library confirms it with a GET of
/// the session's result_url before the session becomes COMPLETED; callbacks of one session
/// arriving while that GET is in flight share it. A callback that arrives while
/// `kpos_session_create` still waits for Klarna's answer waits for it too. Either way the call
/// blocks for at most `request_timeout_ms` in all. A
/// `kpos_session_wait` on the session returns as soon as its status changed.
///
/// On success writes the session's status after the call (`KPOS_STATUS_*`; e.g. COMPLETED even
/// for a late ACCESSED), or, for a call authenticated by `webhook_secret` with no live session
/// here, the status it reports (unconfirmed), to `*status_out` and, unless `session_id_out` is
/// NULL, Klarna's session id to `*session_id_out` (release it with `kpos_string_free`).
///
/// Returns, with the HTTP answer the receiver should give:
/// `KPOS_OK` (answer 200);
/// `KPOS_E_PERMISSION_DENIED`: no `kpos_ref`/`kpos_token`, or a token that does not match,
/// i.e. a forged, altered or truncated call, one made with another secret, or a token of one
/// session's callback presented with another's reference (answer 403; the request did not
/// authenticate, which is why this is not `KPOS_E_BAD_REQUEST`); tokens are compared in
/// constant time;
/// `KPOS_E_NOT_FOUND`: without `webhook_secret`, no live session of this client has that
/// reference: it was freed, resumed after a restart, or created by another client (answer 404;
/// fall back to polling);
/// `KPOS_E_BAD_REQUEST`: authenticated, but the body is not a status payload of that session
/// (answer 400);
/// `KPOS_E_TIMEOUT`, `KPOS_E_NETWORK`, `KPOS_E_UNKNOWN`, `KPOS_E_RATE_LIMITED`, ...: the
/// confirming GET failed (a refusal by Klarna, e.g. 401 for wrong credentials, is reported as
/// `KPOS_E_UNKNOWN` with Klarna's detail, never as one of the verdicts above), or the session's
/// creation did not finish in time; the session is unchanged (answer 503, so Klarna delivers
/// again);
/// `KPOS_E_INVALID_ARGUMENT`: NULL `client`, `target`, `body` or `status_out`, a freed client,
/// or a length above `PTRDIFF_MAX` (answer 500).
/// For this function the answers above replace `kpos_result_action`'s advice (a forged call is
/// no reason to contact Klarna). The token never appears in log messages or in the last error.
///
/// Thread-safe: any number of threads may verify calls on one client at once.
///
/// # Safety
/// `target` and `body` must be NULL or readable for `target_len` and `body_len` bytes;
/// `status_out` must be valid for a write; `session_id_out` must be NULL or valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_webhook_verify(
    client: *mut kpos_client,
    target: *const u8,
    target_len: usize,
    body: *const u8,
    body_len: usize,
    session_id_out: *mut *mut c_char,
    status_out: *mut u32,
) -> kpos_result {
    boundary(|| {
        require_non_null!(status_out, "status_out");
        let target = bytes_arg(target, target_len, "target")?;
        let body = bytes_arg(body, body_len, "body")?;
        let client = client_arg(client)?;
        let outcome = client.handle_webhook(target, body)?;
        write_out(status_out, outcome.status as u32);
        if !session_id_out.is_null() {
            string_out(session_id_out, &outcome.session_id);
        }
        Ok(())
    })
}
