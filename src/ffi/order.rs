//! Order Management after the sale: `kpos_order_*` on a `kpos_client`.

use std::ffi::c_char;

use super::client::{client_arg, kpos_client};
use super::{boundary, kpos_result, opt_str_arg, require_non_null, str_arg, string_out};
use crate::core::orders::Action;

/// Reads an order: `GET /ordermanagement/v1/orders/{order_id}` (retried on network errors, 429
/// and 5xx). Writes Klarna's order JSON (`status` AUTHORIZED, PART_CAPTURED, CAPTURED,
/// CANCELLED, EXPIRED or CLOSED, `order_amount`, `captured_amount`, `refunded_amount`,
/// `remaining_authorized_amount`, `order_lines`, `captures`, `refunds`, …) to `*order_json_out`;
/// release it with `kpos_string_free`. Thread-safe.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid UTF-8, empty order
/// id); `KPOS_E_NOT_FOUND` (Klarna `NO_SUCH_ORDER`); `KPOS_E_PERMISSION_DENIED`;
/// `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
/// `KPOS_E_PROTOCOL`.
///
/// # Safety
/// `order_id` must be NULL or NUL-terminated; `order_json_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_order_get(
    client: *mut kpos_client,
    order_id: *const c_char,
    order_json_out: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(order_json_out, "order_json_out");
        let client = client_arg(client)?;
        let order_id = str_arg(order_id, "order_id")?;
        let json = client.order_get(order_id)?;
        string_out(order_json_out, &json);
        Ok(())
    })
}

/// Captures (part of) an order: `POST …/orders/{order_id}/captures` with `capture_json`
/// (`{"captured_amount", "description"?, "reference"?, "order_lines"?, …}`), validated before
/// anything is sent by Klarna's Order Management rules (docs/validation.md): `captured_amount`
/// an integer of minor units from 0 to 200 000 000, `description` and `reference` strings of at
/// most 255 characters, `order_lines` 0 to 1000 lines checked as a session's (a name may be
/// empty, a tax rate above 10000) that need not add up to the amount, `shipping_info` and
/// `shipping_delay` within Klarna's limits; unknown fields pass through.
///
/// `idempotency_key` (1-64 printable ASCII characters, no spaces) is sent as
/// `Klarna-Idempotency-Key`; NULL makes the library generate a UUID v4. Automatic retries (after
/// a timeout, reset, 429 or 5xx) reuse the key, and so may the caller after an error: Klarna
/// captures once per key. With a journal, the call is recorded before it is sent and stays
/// pending until it succeeded or was refused for good. On success writes the Capture-Id to
/// `*capture_id_out` (release it with `kpos_string_free`). Thread-safe.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid UTF-8 or JSON, bad
/// key, unusable journal: nothing was sent); `KPOS_E_BAD_REQUEST` (refused locally, the last
/// error's `field` names the field, or by Klarna); `KPOS_E_CONFLICT` (Klarna
/// `CAPTURE_NOT_ALLOWED`, e.g. above the remaining authorization, or 409); `KPOS_E_NOT_FOUND`
/// (`NO_SUCH_ORDER`); `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED` and `KPOS_E_UNKNOWN`
/// (429 / 5xx after retries); `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
/// `KPOS_E_PROTOCOL`. After a timeout, network, rate-limit or unknown error, repeat the call
/// with the same key.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; `capture_id_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_order_capture(
    client: *mut kpos_client,
    order_id: *const c_char,
    capture_json: *const c_char,
    idempotency_key: *const c_char,
    capture_id_out: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(capture_id_out, "capture_id_out");
        let client = client_arg(client)?;
        let order_id = str_arg(order_id, "order_id")?;
        let body = str_arg(capture_json, "capture_json")?;
        let key = opt_str_arg(idempotency_key, "idempotency_key")?;
        let id = client.order_move_money(Action::Capture, order_id, body, key)?;
        string_out(capture_id_out, &id);
        Ok(())
    })
}

/// Refunds (part of) a captured order: `POST …/orders/{order_id}/refunds` with `refund_json`
/// (`{"refunded_amount", "description"?, "reference"?, "order_lines"?, …}`), validated before
/// anything is sent like `kpos_order_capture`'s body. The idempotency key, retries and journal
/// work as for `kpos_order_capture`: a refund is applied once per key. On success writes the
/// Refund-Id to `*refund_id_out` (release it with `kpos_string_free`); repeating a refund with
/// its key gives the same Refund-Id. Thread-safe.
///
/// Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_BAD_REQUEST`; `KPOS_E_CONFLICT` (Klarna
/// `REFUND_NOT_ALLOWED`, e.g. above the captured amount, or 409); `KPOS_E_NOT_FOUND`;
/// `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`;
/// `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL` (as for `kpos_order_capture`).
///
/// # Safety
/// String arguments must be NULL or NUL-terminated; `refund_id_out` must be valid for a write.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_order_refund(
    client: *mut kpos_client,
    order_id: *const c_char,
    refund_json: *const c_char,
    idempotency_key: *const c_char,
    refund_id_out: *mut *mut c_char,
) -> kpos_result {
    boundary(|| {
        require_non_null!(refund_id_out, "refund_id_out");
        let client = client_arg(client)?;
        let order_id = str_arg(order_id, "order_id")?;
        let body = str_arg(refund_json, "refund_json")?;
        let key = opt_str_arg(idempotency_key, "idempotency_key")?;
        let id = client.order_move_money(Action::Refund, order_id, body, key)?;
        string_out(refund_id_out, &id);
        Ok(())
    })
}

/// Cancels an order before anything was captured (a void): `POST …/orders/{order_id}/cancel`.
/// `idempotency_key` may be NULL (the library makes one and reuses it for its own retries);
/// journal as for `kpos_order_capture`. Thread-safe.
///
/// Returns `KPOS_OK`; `KPOS_E_CONFLICT` (Klarna `CANCEL_NOT_ALLOWED` once something was
/// captured: refund instead); `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_NOT_FOUND`;
/// `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`;
/// `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL`.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_order_cancel(
    client: *mut kpos_client,
    order_id: *const c_char,
    idempotency_key: *const c_char,
) -> kpos_result {
    boundary(|| {
        let client = client_arg(client)?;
        let order_id = str_arg(order_id, "order_id")?;
        let key = opt_str_arg(idempotency_key, "idempotency_key")?;
        client.order_change(Action::Cancel, order_id, key)
    })
}

/// Releases the part of the authorization that will not be captured (the order then closes
/// once its captures are done): `POST …/orders/{order_id}/release-remaining-authorization`.
/// `idempotency_key` may be NULL; journal as for `kpos_order_capture`. Thread-safe.
///
/// Returns `KPOS_OK`; `KPOS_E_CONFLICT` (Klarna's 403 `NOT_ALLOWED`: the order is cancelled or
/// has no capture yet);
/// `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_NOT_FOUND`; `KPOS_E_PERMISSION_DENIED`;
/// `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
/// `KPOS_E_PROTOCOL`.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_order_release_remaining_authorization(
    client: *mut kpos_client,
    order_id: *const c_char,
    idempotency_key: *const c_char,
) -> kpos_result {
    boundary(|| {
        let client = client_arg(client)?;
        let order_id = str_arg(order_id, "order_id")?;
        let key = opt_str_arg(idempotency_key, "idempotency_key")?;
        client.order_change(Action::Release, order_id, key)
    })
}
