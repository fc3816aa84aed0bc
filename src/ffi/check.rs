//! `kpos_client_check`: the health check a support desk runs before the first customer.

use std::ffi::c_char;

use super::client::{client_arg, kpos_client};
use super::{boundary, kpos_result, require_non_null, string_out};
use crate::core::check;

/// Checks that this till can reach Klarna with the client's configuration, without creating
/// anything at Klarna: name resolution, TCP connect, the proxy's CONNECT tunnel (when a proxy
/// is used), the TLS handshake (verified chain, certificate expiry), the credentials (an
/// authenticated read of a session that cannot exist: 404 means accepted, 401/403 wrong
/// credentials or region) and the clock's offset from Klarna's `Date` header. Each network step
/// is bounded by the client's connect timeout, the credentials step by its request timeout.
///
/// Writes a JSON report to `*report_json` (also when a step fails; release it with
/// `kpos_string_free`): `{"ok", "code", "code_name", "api_url", "proxy", "proxy_source",
/// "trust_store", "ms", "steps": [{"step", "verdict", "ms", "detail", "code", "code_name",
/// "action"}, ...]}`, steps `dns`, `tcp`, `proxy`, `tls`, `credentials`, `clock` in that order,
/// `verdict` one of `ok`, `warning` (a certificate expiring within 14 days, a clock more than
/// 60 s off: the check still passes), `failed` (with `code`, `code_name` and `action`, what to
/// do) or `skipped`. docs/operations.md describes each step.
///
/// Returns `KPOS_OK` only when every step passed; otherwise the first failing step's code
/// (`KPOS_E_NETWORK`, `KPOS_E_TIMEOUT`, `KPOS_E_TLS`, `KPOS_E_PERMISSION_DENIED`, ...; the last
/// error says which step), or `KPOS_E_INVALID_ARGUMENT` (NULL `report_json`, freed client; then
/// nothing is written).
///
/// # Safety
/// `report_json` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_client_check(
    client: *mut kpos_client,
    report_json: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(report_json, "report_json");
        let client = client_arg(client)?;
        let (report, result) = check::check(&client);
        string_out(report_json, &report);
        result
    })
}
