//! `kpos_journal_pending`: the work a killed till left open.

use std::ffi::c_char;

use super::client::{client_arg, kpos_client};
use super::{boundary, kpos_result, require_non_null, string_out};

/// Lists the open work recorded in the client's journal (config `journal_dir`), oldest first,
/// as a JSON array with one record per line:
///
/// - `{"kind":"session","session_id","result_url","created_at","merchant_reference1","merchant_reference2","order_amount","purchase_currency"}`:
///   a session not seen terminal. Continue it with `kpos_session_resume` and wait until it is
///   terminal; its record then closes. `session_id` and `result_url` are `null` when the create
///   was sent but its answer never arrived: such a session cannot be resumed (a payment of that
///   amount and reference may exist: check it in Klarna's merchant portal); it stays listed
///   until Klarna's session lifetime (46 hours) has passed.
/// - `{"kind":"capture"|"refund"|"cancel"|"release","order_id","idempotency_key","body","created_at"}`:
///   an Order Management call without a definitive answer. Repeat it (`body` is the request
///   JSON, `null` for cancel and release) with the same `idempotency_key`: Klarna applies it
///   once, and the record closes.
///
/// `created_at` is UTC (`2026-05-01T12:00:00Z`). Finished work is in the history
/// (`kpos_history_report`, `kpos_history_find`). Writes the array to `*json_out` (release it
/// with `kpos_string_free`). Thread-safe; other processes sharing the directory are seen too.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, a client without
/// `journal_dir`, or an unreadable journal).
///
/// # Safety
/// `json_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_journal_pending(
    client: *mut kpos_client,
    json_out: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(json_out, "json_out");
        let client = client_arg(client)?;
        let journal = client.journal_for("kpos_journal_pending")?;
        string_out(json_out, &journal.pending_json()?);
        Ok(())
    })
}
