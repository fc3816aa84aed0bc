"""The client (configuration, credentials, connection pool) and one in-store payment session."""

from __future__ import annotations

import ctypes
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

from ._native import from_c, lib, to_c
from .errors import InternalError, InvalidArgument, KlarnaError, Timeout, check, last_error
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


class Client:
    """A Klarna client: configuration, credentials and a keep-alive connection pool.

    Keyword arguments are the keys of the library's configuration JSON: ``api_url`` (or
    ``region`` + ``environment``), ``username``, ``password``, ``user_agent``,
    ``connect_timeout_ms``, ``request_timeout_ms``, ``poll_interval_ms``, ``max_retries``,
    ``ca_file``, ``proxy``, ``allow_insecure_http``. An unknown key or a bad value raises
    :class:`InvalidArgument` naming it in ``field``. No network traffic happens here.

    Thread-safe: create one client and share it between all tills of the process.
    """

    def __init__(self, **config: Any) -> None:
        self._handle: Optional[int] = None
        self._open(_json_argument("config", config))

    @classmethod
    def from_env(cls) -> "Client":
        """A client configured from ``KLARNA_API_URL``, ``KLARNA_USERNAME``,
        ``KLARNA_PASSWORD`` (and ``KLARNA_USER_AGENT``)."""
        client = cls.__new__(cls)
        client._handle = None
        client._open(None)
        return client

    def _open(self, config: Optional[bytes]) -> None:
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


class Session:
    """One in-store payment, created by :meth:`Client.create_session` or
    :meth:`Client.resume_session`.

    Use a session from one thread at a time, except :meth:`cancel`, which any thread may call at
    any moment (it wakes a :meth:`wait` in progress). ``with`` closes the session on exit; closing
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
        Idempotent; raises :class:`Conflict` once the payment COMPLETED (refund it instead)."""
        check(lib.kpos_session_cancel(self._live_handle()))

    def close(self) -> None:
        """Releases the native session (does not cancel it at Klarna). Idempotent."""
        if self._handle is None:
            return
        outcome = _Outcome(self.status, self.qr_url, self.payment_link, self.order_id, self.failure)
        handle, self._handle, self._closed = self._handle, None, outcome
        lib.kpos_session_free(handle)

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
