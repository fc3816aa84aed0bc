"""The client (configuration, credentials, connection pool) and one in-store payment session."""

from __future__ import annotations

import ctypes
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Type, TypeVar, Union

from ._native import from_c, lib, take_string, to_c
from .events import _Watching
from .errors import InternalError, InvalidArgument, KlarnaError, Timeout, check, last_error
from .log import sync_logging_level
from .status import Status

KPOS_E_TIMEOUT = 30
_MAX_WAIT_MS = 0xFFFFFFFF

Order = Union[Mapping[str, Any], str, bytes]
"""An order: a dict (serialised here) or its JSON text, as Klarna's session request body."""


def _json_argument(what: str, value: Any) -> bytes:
    """UTF-8 JSON text for the library: dicts are serialised, text passes unchanged."""
    if isinstance(value, (str, bytes, bytearray)):
        raw = to_c(value)
    else:
        try:
            raw = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            # Amounts must be integers in minor units: a float NaN or a Decimal lands here.
            raise InvalidArgument("{} cannot be written as JSON: {}".format(what, e)) from e
    if b"\0" in raw:
        raise InvalidArgument("{} contains a NUL character".format(what))
    return raw


def _id(value: Optional[str], what: str) -> str:
    """An id a successful call returned through a ``char **``."""
    if value is None:
        raise InternalError("the library reported success but returned no " + what)
    return value


def _handle(out: ctypes.c_void_p) -> int:
    """The handle a successful call wrote to its out-parameter."""
    if out.value is None:
        raise InternalError("the library reported success but returned no handle")
    return out.value


def _text_argument(what: str, value: Union[str, bytes]) -> bytes:
    raw = to_c(value)
    if b"\0" in raw:
        raise InvalidArgument("{} contains a NUL character".format(what))
    return raw


def _optional_text(what: str, value: Optional[Union[str, bytes]]) -> Optional[bytes]:
    """A string argument that may be NULL."""
    return None if value is None else _text_argument(what, value)


_Parsed = TypeVar("_Parsed", Dict[str, Any], List[Dict[str, Any]])


def _parsed_json(what: str, text: Optional[str], kind: Type[_Parsed]) -> _Parsed:
    """The library's JSON answer ``text``, which must be a ``kind`` (object or array)."""
    if text is None:
        raise InternalError("the library reported success but returned no " + what)
    value = json.loads(text)
    if not isinstance(value, kind):
        raise InternalError("the library returned a {} that is not a JSON {}".format(what, kind))
    return value


def _rfc3339(value: Union[str, datetime]) -> str:
    """A report bound as RFC 3339 text; a naive datetime has no offset and is refused by the
    library (field ``from`` or ``to``)."""
    return value.isoformat() if isinstance(value, datetime) else value


def _amount_body(
    what: str,
    amount_key: str,
    amount: int,
    reference: Optional[str],
    description: Optional[str],
    order_lines: Optional[Sequence[Mapping[str, Any]]],
    fields: Mapping[str, Any],
) -> bytes:
    """The JSON body of a capture or refund; the library validates it before sending."""
    body: Dict[str, Any] = dict(fields)
    body[amount_key] = amount
    if reference is not None:
        body["reference"] = reference
    if description is not None:
        body["description"] = description
    if order_lines is not None:
        body["order_lines"] = list(order_lines)
    return _json_argument(what, body)


class WebhookResult(NamedTuple):
    """What :meth:`Client.verify_webhook` learned from a verified callback."""

    session_id: str
    """Klarna's id of the session the callback was about."""
    status: Status
    """The session's status after the callback was merged (COMPLETED stays COMPLETED)."""


class Client:
    """A Klarna client: configuration, credentials and a keep-alive connection pool.

    Keyword arguments are the keys of the library's configuration JSON: ``api_url`` (or
    ``region`` + ``environment``), ``username``, ``password``, ``user_agent``,
    ``connect_timeout_ms``, ``request_timeout_ms``, ``poll_interval_ms``, ``max_retries``,
    ``ca_file``, ``proxy``, ``allow_insecure_http``, ``webhook_url`` (the till backend's
    endpoint for Klarna's status callbacks, see :meth:`verify_webhook`),
    ``webhook_poll_interval_ms``, ``journal_dir`` (see :meth:`journal_pending`). An unknown key
    or a bad value raises :class:`InvalidArgument` naming it in ``field``. No network traffic
    happens here.

    Thread-safe: create one client and share it between all tills of the process.
    """

    def __init__(self, **config: Any) -> None:
        self._handle: Optional[int] = None
        self._open(_json_argument("config", config))

    @classmethod
    def from_env(cls) -> "Client":
        """A client configured from ``KLARNA_API_URL``, ``KLARNA_USERNAME``,
        ``KLARNA_PASSWORD`` (and ``KLARNA_USER_AGENT``, ``KLARNA_JOURNAL_DIR``)."""
        client = cls.__new__(cls)
        client._handle = None
        client._open(None)
        return client

    def _open(self, config: Optional[bytes]) -> None:
        sync_logging_level()
        out = ctypes.c_void_p()
        check(lib.kpos_client_new(config, ctypes.byref(out)))
        self._handle = _handle(out)

    def _live_handle(self) -> int:
        if self._handle is None:
            raise InvalidArgument("the client is closed")
        return self._handle

    def create_session(self, order: Order) -> "Session":
        """Validates the order locally (nothing is sent when a field is wrong: :class:`BadRequest`
        with ``field``), then starts the in-store payment with one request to Klarna."""
        out = ctypes.c_void_p()
        check(
            lib.kpos_session_create(
                self._live_handle(), _json_argument("order", order), ctypes.byref(out)
            )
        )
        return Session(self, _handle(out))

    def resume_session(self, session_id: str, result_url: str) -> "Session":
        """Continues a session created earlier (e.g. before a till restart) from its ``id`` and
        ``result_url``. No network traffic: call :meth:`Session.poll` to learn its status."""
        out = ctypes.c_void_p()
        check(
            lib.kpos_session_resume(
                self._live_handle(),
                _text_argument("session_id", session_id),
                _text_argument("result_url", result_url),
                ctypes.byref(out),
            )
        )
        return Session(self, _handle(out))

    # ---- after the sale: Order Management ---------------------------------------------------

    def get_order(self, order_id: str) -> Dict[str, Any]:
        """Klarna's order: ``status`` (AUTHORIZED, PART_CAPTURED, CAPTURED, CANCELLED, EXPIRED,
        CLOSED), ``order_amount``, ``captured_amount``, ``refunded_amount``,
        ``remaining_authorized_amount``, ``order_lines``, ``captures``, ``refunds``, ...

        Raises :class:`NotFound` for an unknown order."""
        out = ctypes.c_void_p()
        check(
            lib.kpos_order_get(
                self._live_handle(), _text_argument("order_id", order_id), ctypes.byref(out)
            )
        )
        return _parsed_json("order", take_string(out), dict)

    def capture(
        self,
        order_id: str,
        amount: int,
        reference: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        *,
        description: Optional[str] = None,
        order_lines: Optional[Sequence[Mapping[str, Any]]] = None,
        **fields: Any,
    ) -> str:
        """Captures ``amount`` (minor units) of an order and returns Klarna's capture id.

        ``order_lines`` (checked as a session's; they need not add up to ``amount``) and other
        keyword arguments (further fields of Klarna's capture body) are sent as given; the body
        is checked before anything is sent (:class:`BadRequest` with ``field``). ``idempotency_key`` (1-64
        printable ASCII characters, no spaces) makes a repeated call capture once; without it
        the library makes one, used for its own retries. After :class:`Timeout`,
        :class:`NetworkError`, :class:`RateLimited` or :class:`Unknown`, call again with the same
        key. Raises :class:`Conflict` beyond the remaining authorization."""
        body = _amount_body(
            "capture", "captured_amount", amount, reference, description, order_lines, fields
        )
        out = ctypes.c_void_p()
        check(
            lib.kpos_order_capture(
                self._live_handle(),
                _text_argument("order_id", order_id),
                body,
                _optional_text("idempotency_key", idempotency_key),
                ctypes.byref(out),
            )
        )
        return _id(take_string(out), "capture id")

    def refund(
        self,
        order_id: str,
        amount: int,
        reference: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        *,
        description: Optional[str] = None,
        order_lines: Optional[Sequence[Mapping[str, Any]]] = None,
        **fields: Any,
    ) -> str:
        """Refunds ``amount`` (minor units) of a captured order and returns Klarna's refund id.

        Arguments as for :meth:`capture`. A refund repeated with its ``idempotency_key`` is
        booked once and returns the same refund id. Raises :class:`Conflict` above the captured
        amount (Klarna's ``REFUND_NOT_ALLOWED``)."""
        body = _amount_body(
            "refund", "refunded_amount", amount, reference, description, order_lines, fields
        )
        out = ctypes.c_void_p()
        check(
            lib.kpos_order_refund(
                self._live_handle(),
                _text_argument("order_id", order_id),
                body,
                _optional_text("idempotency_key", idempotency_key),
                ctypes.byref(out),
            )
        )
        return _id(take_string(out), "refund id")

    def cancel_order(self, order_id: str, idempotency_key: Optional[str] = None) -> None:
        """Cancels an order before anything was captured (a void). Raises :class:`Conflict`
        once something was captured: refund instead."""
        check(
            lib.kpos_order_cancel(
                self._live_handle(),
                _text_argument("order_id", order_id),
                _optional_text("idempotency_key", idempotency_key),
            )
        )

    def release_remaining_authorization(
        self, order_id: str, idempotency_key: Optional[str] = None
    ) -> None:
        """Releases the part of the authorization that will not be captured. Raises
        :class:`Conflict` when Klarna does not allow it (e.g. after a cancel)."""
        check(
            lib.kpos_order_release_remaining_authorization(
                self._live_handle(),
                _text_argument("order_id", order_id),
                _optional_text("idempotency_key", idempotency_key),
            )
        )

    # ---- health check ---------------------------------------------------------------------------

    def check(self) -> Dict[str, Any]:
        """Checks that this till reaches Klarna with this configuration, creating nothing:
        name resolution, TCP connect, proxy, TLS handshake (verified chain, expiry),
        credentials and the clock's offset (``kpos_client_check``). Returns the report:
        ``{"ok": bool, "code", "code_name", "steps": [{"step", "verdict", "ms", "detail",
        "code", "code_name", "action"}, ...], ...}``; a failing step does not raise (its code
        and what to do are in the report)."""
        out = ctypes.c_void_p()
        code = lib.kpos_client_check(self._live_handle(), ctypes.byref(out))
        if not out.value:
            check(code)
        return _parsed_json("health check report", take_string(out), dict)

    # ---- crash safety ---------------------------------------------------------------------------

    def journal_pending(self) -> List[Dict[str, Any]]:
        """The open work of the client's journal (``journal_dir``), oldest first.

        ``{"kind": "session", "session_id", "result_url", "created_at", "merchant_reference1",
        "order_amount"}``: resume it with :meth:`resume_session` and wait until it is terminal
        (``session_id`` is ``None`` when the create was never answered: it cannot be resumed).
        ``{"kind": "capture"|"refund"|"cancel"|"release", "order_id", "idempotency_key", "body",
        "created_at"}``: repeat the call with that key (and the body's fields). Raises
        :class:`InvalidArgument` for a client without ``journal_dir``."""
        out = ctypes.c_void_p()
        check(lib.kpos_journal_pending(self._live_handle(), ctypes.byref(out)))
        return _parsed_json("journal", take_string(out), list)

    # ---- the store's day ------------------------------------------------------------------------

    def history_report(
        self, start: Union[str, datetime], end: Union[str, datetime]
    ) -> Dict[str, Any]:
        """The store's day for a cash-up (``kpos_history_report``): the work finished from
        ``start`` (inclusive) to ``end`` (exclusive), RFC 3339 strings with an offset or
        time-zone-aware datetimes, from the history in ``journal_dir``, parsed:
        ``{"from", "to", "unwritten", "currencies": [{"currency", "paid": {"count", "amount"},
        "cancelled", "failed", "expired", "open", "captured", "refunded", ...}], "items": [...]}``
        with amounts in minor units (exact integers). Raises :class:`InvalidArgument` (``field``
        ``"from"`` or ``"to"``) for a bad bound, and without ``journal_dir``."""
        out = ctypes.c_void_p()
        check(
            lib.kpos_history_report(
                self._live_handle(), to_c(_rfc3339(start)), to_c(_rfc3339(end)), ctypes.byref(out)
            )
        )
        return _parsed_json("history report", take_string(out), dict)

    def history_find(self, merchant_reference: str) -> List[Dict[str, Any]]:
        """"Was this sale paid?" (``kpos_history_find``): every session and Order Management
        record of the history and the journal whose ``merchant_reference1`` or
        ``merchant_reference2`` is ``merchant_reference``, in the order recorded, each with its
        ``outcome`` (``paid``, ``open``, ``refunded``, ...). An empty list means nothing is known
        here: look the reference up in Klarna's merchant portal (see docs/day.md)."""
        out = ctypes.c_void_p()
        check(
            lib.kpos_history_find(self._live_handle(), to_c(merchant_reference), ctypes.byref(out))
        )
        return _parsed_json("history records", take_string(out), list)

    # ---- webhooks -------------------------------------------------------------------------------

    def verify_webhook(self, request: Union[str, bytes], body: Union[bytes, str]) -> WebhookResult:
        """Verifies a callback Klarna made to the ``webhook_url`` and merges the status it reports
        into its session (a :meth:`Session.wait` returns at once). Call it from the receiver, on
        any thread, for every request to that path.

        ``request`` is the request target (``/path?query``), the full URL or the query alone;
        ``body`` the request body; both any bytes as received (NUL included; ``str`` is sent
        as UTF-8). Answer the HTTP request with 200 on success, 403 for
        :class:`PermissionDenied` (a forged or altered call: nothing changed), 404 for
        :class:`NotFound` (no live session of this client has that reference: fall back to
        polling), 400 for :class:`BadRequest` (authentic, but not a status payload of that
        session) and 503 for anything else (Klarna delivers again). A reported COMPLETED is
        confirmed with Klarna before it is believed, so this may block for up to
        ``request_timeout_ms``."""
        session_id = ctypes.c_void_p()
        status = ctypes.c_uint32()
        # Bytes with their lengths, exactly as received: a NUL byte is part of the input.
        target, payload = to_c(request), to_c(body)
        check(
            lib.kpos_webhook_verify(
                self._live_handle(),
                target,
                len(target),
                payload,
                len(payload),
                ctypes.byref(session_id),
                ctypes.byref(status),
            )
        )
        return WebhookResult(_id(take_string(session_id), "session id"), Status(status.value))

    def close(self) -> None:
        """Releases the client. Sessions created from it stay usable. Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.kpos_client_free(handle)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be unloaded
            pass


@dataclass(frozen=True)
class _Outcome:
    """What a session knew when it was closed."""

    status: Status
    qr_url: Optional[str]
    payment_link: Optional[str]
    order_id: Optional[str]
    failure: Optional[KlarnaError]


class Session(_Watching):
    """One in-store payment, created by :meth:`Client.create_session` or
    :meth:`Client.resume_session`.

    Use a session from one thread at a time, except :meth:`cancel`, which any thread may call at
    any moment (it wakes a :meth:`wait` in progress). :meth:`watch` and :meth:`wait_async`
    follow it in the background (see docs/events.md). ``with`` closes the session on exit; closing
    does not cancel the payment at Klarna. After :meth:`close`, ``status``, ``qr_url``,
    ``payment_link``, ``order_id`` and ``failure`` keep their last values; :meth:`poll`,
    :meth:`wait` and :meth:`cancel` raise :class:`InvalidArgument`.
    """

    def __init__(self, client: Client, handle: int) -> None:
        # The client is kept alive for as long as its sessions.
        self._client = client
        self._handle: Optional[int] = handle
        self._closed: Optional[_Outcome] = None
        self.id: str = from_c(lib.kpos_session_id(handle)) or ""
        """Klarna's session id."""
        self.result_url: str = from_c(lib.kpos_session_result_url(handle)) or ""
        """The status URL; keep it with :attr:`id` to resume after a restart."""
        self._init_watching()

    def _live_handle(self) -> int:
        if self._handle is None:
            raise InvalidArgument("the session is closed")
        return self._handle

    @property
    def status(self) -> Status:
        """The last known status, without network traffic."""
        if self._closed is not None:
            return self._closed.status
        return Status(lib.kpos_session_status(self._handle))

    @property
    def qr_url(self) -> Optional[str]:
        """The QR code image URL to show; ``None`` until the session is distributed."""
        if self._closed is not None:
            return self._closed.qr_url
        return from_c(lib.kpos_session_qr_url(self._handle))

    @property
    def payment_link(self) -> Optional[str]:
        """The payment link for the customer's phone; ``None`` if Klarna gave none."""
        if self._closed is not None:
            return self._closed.payment_link
        return from_c(lib.kpos_session_payment_link(self._handle))

    @property
    def order_id(self) -> Optional[str]:
        """Klarna's order id once the payment COMPLETED (for capture, refund, cancel)."""
        if self._closed is not None:
            return self._closed.order_id
        return from_c(lib.kpos_session_order_id(self._handle))

    @property
    def failure(self) -> Optional[KlarnaError]:
        """Why a FAILED session failed (:class:`BadRequest`, :class:`PermissionDenied` or
        :class:`Unknown`, not raised), else ``None``."""
        if self._closed is not None:
            return self._closed.failure
        code = lib.kpos_session_failure(self._handle)
        return None if code == 0 else last_error(code)

    def receipt_text(self, language: Optional[str] = None) -> str:
        """The receipt lines of a COMPLETED payment (``kpos_session_receipt_text``) in
        ``language`` (a BCP 47 tag; English when ``None`` or unknown), joined with ``"\\n"``,
        each at most 42 characters. Raises :class:`Conflict` when the session is not
        COMPLETED."""
        out = ctypes.c_void_p()
        tag = None if language is None else to_c(language)
        check(lib.kpos_session_receipt_text(self._live_handle(), tag, ctypes.byref(out)))
        text = take_string(out)
        if text is None:
            raise InternalError("the library reported success but returned no receipt")
        return text

    def poll(self) -> Status:
        """Reads the status once from Klarna."""
        status = ctypes.c_uint32()
        check(lib.kpos_session_poll(self._live_handle(), ctypes.byref(status)))
        return Status(status.value)

    def wait(self, timeout: float = 30.0) -> Status:
        """Blocks until the status differs from the one last returned by :meth:`poll` or
        :meth:`wait`, or is terminal, and returns it.

        Raises :class:`Timeout` after ``timeout`` seconds (its ``status`` is the last known
        status) and :class:`Cancelled` when :meth:`cancel` is called meanwhile from another thread
        (unless Klarna reports the payment COMPLETED, which wins).
        """
        if not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
            raise InvalidArgument("timeout must be a number of seconds, not {!r}".format(timeout))
        millis = min(_MAX_WAIT_MS, int(math.ceil(timeout * 1000)))
        status = ctypes.c_uint32(Status.UNKNOWN)
        code = lib.kpos_session_wait(self._live_handle(), millis, ctypes.byref(status))
        if code == KPOS_E_TIMEOUT:
            error = last_error(code)
            if isinstance(error, Timeout):
                error.status = Status(status.value)
            raise error
        check(code)
        return Status(status.value)

    def cancel(self) -> None:
        """Cancels the payment at Klarna and wakes a :meth:`wait` on another thread.
        Idempotent; raises :class:`Conflict` once the payment COMPLETED (refund it instead).
        Ends a :meth:`watch` after its final call (CANCELED, or COMPLETED)."""
        code = lib.kpos_session_cancel(self._live_handle())
        self._after_cancel()
        check(code)

    def close(self) -> None:
        """Releases the native session (does not cancel it at Klarna). Idempotent."""
        if self._handle is None:
            return
        outcome = _Outcome(self.status, self.qr_url, self.payment_link, self.order_id, self.failure)
        handle, self._handle, self._closed = self._handle, None, outcome
        lib.kpos_session_free(handle)
        self._end_watching()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._handle is not None:
                handle, self._handle = self._handle, None
                lib.kpos_session_free(handle)
        except Exception:  # interpreter shutdown: the library may already be unloaded
            pass

    def __repr__(self) -> str:
        return "<klarna_pos.Session {} {}>".format(self.id, self.status.name)
