//! The store's day: `kpos_history_report`, `kpos_history_find`, `kpos_session_receipt_text`.

use std::ffi::c_char;

use super::client::{client_arg, kpos_client};
use super::session::{kpos_session, session_arg};
use super::{boundary, kpos_result, opt_str_arg, require_non_null, str_arg, string_out};
use crate::core::receipt;

/// The store's day for a cash-up: the work finished between `from` (inclusive) and `to`
/// (exclusive), RFC 3339 date-times with an offset (`"2026-11-30T00:00:00+01:00"`,
/// `"2026-11-30T23:00:00Z"`), read from the history kept in `journal_dir` (every client and
/// process sharing the directory), counted and summed per currency and outcome, with the items.
///
/// Writes to `*report_json` (release it with `kpos_string_free`) one JSON object:
///
/// ```text
/// {"from":"…","to":"…","unwritten":0,
/// "currencies":[
/// {"currency":"SEK","paid":{"count":17,"amount":212500},"cancelled":{…},"failed":{…},"expired":{…},"open":{…},"captured":{…},"refunded":{…},"order_cancelled":{…},"released":{…},"refused":{…},"unanswered":{…}}
/// ],
/// "items":[
/// {"kind":"session","record":"…","outcome":"paid","amount":12500,"purchase_currency":"SEK","merchant_reference1":"4711","merchant_reference2":null,"session_id":"…","order_id":"…","idempotency_key":null,"created_at":"…","finished_at":"…","status":"COMPLETED","klarna_reference":"…","failure_code":null}
/// ]}
/// ```
///
/// One currency row and one item per line. Amounts are integers of minor units, exact. Outcomes
/// of sessions: `paid`, `cancelled`, `failed`, `expired`, and `open` for a session started in
/// the range whose outcome is not recorded (still running, or the till stopped before seeing
/// it; `session_id` null when the create's answer never came). Of Order Management calls
/// (`kind` `capture`, `refund`, `cancel`, `release`): `captured`, `refunded`,
/// `order_cancelled`, `released`, `refused` (Klarna said no; `failure_code`), and `unanswered`
/// (no definitive answer yet: repeat it, see `kpos_journal_pending`). An Order Management item
/// carries the currency and references of its sale when the history holds the sale; otherwise
/// its row has `"currency":null`. Currency rows come in the order their currency first appears
/// among the items; the items are the history's lines in the order they were recorded (the order
/// the work finished), then the open records, oldest first. `unwritten` counts history lines this process could not
/// write (disk full; they are in the report, and written with the next line).
///
/// Thread-safe. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` with field `from` or `to` for a
/// bound that is NULL, not UTF-8 or not an RFC 3339 date-time with an offset, or `to` not later
/// than `from`; `KPOS_E_INVALID_ARGUMENT` for a NULL `report_json`, a NULL or freed client, a
/// client without `journal_dir`, or an unreadable history (field `journal_dir`).
///
/// # Safety
/// `from` and `to` must be NULL or NUL-terminated strings; `report_json` must be valid for a
/// write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_history_report(
    client: *mut kpos_client,
    from: *const c_char,
    to: *const c_char,
    report_json: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(report_json, "report_json");
        let client = client_arg(client)?;
        let from = str_arg(from, "from")?;
        let to = str_arg(to, "to")?;
        let report = client
            .journal_for("kpos_history_report")?
            .history_report(from, to)?;
        string_out(report_json, &report);
        Ok(())
    })
}

/// "Was sale 4711 paid?": every record the history and the journal (in `journal_dir`, shared by
/// every client and process using it) hold whose `merchant_reference1` or
/// `merchant_reference2` is `merchant_reference`, with the Order Management work on their
/// orders (history lines in the order recorded, then open records), each with its `outcome` (the items of `kpos_history_report`: `paid`,
/// `cancelled`, `failed`, `expired`, `open`, `captured`, `refunded`, ...).
///
/// Writes a JSON array with one record per line to `*records_json` (release it with
/// `kpos_string_free`); `[]` when nothing is known. What to do with the answer:
///
/// - `paid`: the sale is paid; `order_id` is Klarna's order. Do not take the payment again.
/// - `open` with a `session_id`: the outcome was never seen (a lost answer, a crash). Resume it
///   with `kpos_session_resume` (the result URL is in `kpos_journal_pending`) and wait.
/// - `open` with `session_id` null: the create was sent but its answer never came; a payment of
///   that amount may exist. Look the reference up in Klarna's merchant portal (Orders, search by
///   merchant reference) before taking the payment again.
/// - `[]`: this till's library never finished or started a session with that reference in this
///   `journal_dir`: it was never created here, was created by another till or directory, or
///   before the history existed. Look the reference up in Klarna's merchant portal or through
///   Order Management by the order id the till may have kept.
///
/// Thread-safe. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` with field `merchant_reference`
/// when it is NULL, not UTF-8, empty, longer than 255 characters or has control characters;
/// `KPOS_E_INVALID_ARGUMENT` for a NULL `records_json`, a NULL or freed client, a client without
/// `journal_dir`, or an unreadable history (field `journal_dir`).
///
/// # Safety
/// `merchant_reference` must be NULL or a NUL-terminated string; `records_json` must be valid
/// for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_history_find(
    client: *mut kpos_client,
    merchant_reference: *const c_char,
    records_json: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(records_json, "records_json");
        let client = client_arg(client)?;
        let reference = str_arg(merchant_reference, "merchant_reference")?;
        let records = client
            .journal_for("kpos_history_find")?
            .history_find(reference)?;
        string_out(records_json, &records);
        Ok(())
    })
}

/// The lines to print on the receipt of a COMPLETED payment, in `language` (a BCP 47 tag as for
/// `kpos_status_display_text_for`, the same 13 languages; NULL or an unknown tag gives
/// English):
///
/// ```text
/// Paid with Klarna
/// Amount: 125.00 SEK
/// Klarna order ID: 7a8c5b1e-3f4d-4e2a-9b6c-0d1e2f3a4b5c
/// Date: 2026-11-30 09:12
/// Reference: 4711
/// ```
///
/// Lines are separated by `\n` (none after the last); each is at most 42 characters (Unicode
/// characters, not bytes; UTF-8): a value that does not fit beside its label follows on lines of
/// its own, cut every 42 characters. The amount has the currency's decimals with a decimal
/// comma in every language but English; the date and time are when this process saw the payment
/// complete, in local time (Unix; `UTC` is added where the library cannot read the local time
/// zone); the reference is `merchant_reference1`, else `merchant_reference2` (no line without
/// either). Writes the text to `*text` (release it with `kpos_string_free`).
///
/// Use the session from one thread at a time. Returns `KPOS_OK`; `KPOS_E_CONFLICT` when the
/// session is not COMPLETED (nothing to print: check the status first);
/// `KPOS_E_INVALID_ARGUMENT` for a NULL `text`, a NULL or freed session, a `language` that is
/// not UTF-8, or a session resumed without its journal record (its amount is unknown to this
/// client).
///
/// # Safety
/// `language` must be NULL or a NUL-terminated string; `text` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_session_receipt_text(
    s: *const kpos_session,
    language: *const c_char,
    text: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(text, "text");
        let handle = session_arg(s)?;
        let tag = opt_str_arg(language, "language")?;
        let lines = receipt::receipt_text(&handle.session, tag)?;
        string_out(text, &lines);
        Ok(())
    })
}
