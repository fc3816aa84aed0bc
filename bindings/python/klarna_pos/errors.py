"""Exceptions: one class per ``kpos_result`` code, all subclasses of :class:`KlarnaError`."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Type

from ._native import from_c, lib
from .status import Status


class KlarnaError(Exception):
    """A failing library call, with everything the library knew about the failure.

    Attributes mirror the ``kpos_last_error_*`` getters: ``code`` (the ``kpos_result`` number), ``name``
    (``"KPOS_E_BAD_REQUEST"``), ``message``, ``action`` (a ``KPOS_ACTION_*`` number),
    ``http_status``, ``klarna_error_code``, ``error_messages``, ``correlation_id`` (quote it to
    Klarna merchant support), ``field`` (the offending field path of a refused order or
    configuration) and ``retry_after_ms`` (with ``RateLimited``: how long Klarna asked this client
    to wait before the next request of the same kind). Facts that are unknown are ``None``.
    """

    code: int = -1

    def __init__(
        self,
        message: str,
        *,
        code: Optional[int] = None,
        name: Optional[str] = None,
        action: Optional[int] = None,
        http_status: Optional[int] = None,
        klarna_error_code: Optional[str] = None,
        error_messages: Optional[List[str]] = None,
        correlation_id: Optional[str] = None,
        field: Optional[str] = None,
        retry_after_ms: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.name: str = name or from_c(lib.kpos_result_name(self.code)) or ""
        self.message = message
        self.action: int = action if action is not None else lib.kpos_result_action(self.code)
        self.http_status = http_status
        self.klarna_error_code = klarna_error_code
        self.error_messages: List[str] = list(error_messages or [])
        self.correlation_id = correlation_id
        self.field = field
        self.retry_after_ms = retry_after_ms

    def __str__(self) -> str:
        text = "{}: {}".format(self.name, self.message)
        if self.correlation_id:
            text += " (correlation_id {})".format(self.correlation_id)
        return text


class InvalidArgument(KlarnaError):
    """API misuse: bad configuration, unreadable JSON, a closed session (fix the calling code)."""

    code = 1


class BadRequest(KlarnaError):
    """The order or request is not acceptable; ``field`` names the first offending field."""

    code = 10


class PermissionDenied(KlarnaError):
    """Credentials wrong or not allowed; do not retry, contact Klarna merchant support."""

    code = 11


class Unknown(KlarnaError):
    """Klarna system error; do not retry the session, contact Klarna merchant support."""

    code = 12


class NotFound(KlarnaError):
    """The session or order is unknown to Klarna."""

    code = 13


class Conflict(KlarnaError):
    """Not allowed in the current state (e.g. cancelling a COMPLETED payment: refund it)."""

    code = 14


class RateLimited(KlarnaError):
    """Klarna's rate limit, after the library's own backoff; retry later."""

    code = 15


class Timeout(KlarnaError):
    """No answer in time, or :meth:`Session.wait` ran out; ``status`` is the last known status
    when raised by ``wait``."""

    code = 30
    status: Optional[Status] = None


class NetworkError(KlarnaError):
    """The connection to Klarna failed; retry."""

    code = 31


class TlsError(KlarnaError):
    """Certificate or TLS handshake failure; check ``ca_file`` and the clock."""

    code = 32


class ProtocolError(KlarnaError):
    """The server answered something unparseable or unexpected."""

    code = 33


class Cancelled(KlarnaError):
    """The call was interrupted by :meth:`Session.cancel` from another thread."""

    code = 50


class InternalError(KlarnaError):
    """A bug in the library (a caught panic); please report it."""

    code = 90


_BY_CODE: Dict[int, Type[KlarnaError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        BadRequest,
        PermissionDenied,
        Unknown,
        NotFound,
        Conflict,
        RateLimited,
        Timeout,
        NetworkError,
        TlsError,
        ProtocolError,
        Cancelled,
        InternalError,
    )
}


def error_class(code: int) -> Type[KlarnaError]:
    """The exception class for a ``kpos_result`` code (``KlarnaError`` for an unknown one)."""
    return _BY_CODE.get(code, KlarnaError)


def last_error(code: int) -> KlarnaError:
    """The exception for a call on this thread that just returned ``code``.

    Must be called right after the failing call, on the same thread: the library keeps the
    detail thread-locally until the next failing call.
    """
    cls = error_class(code)
    fallback = from_c(lib.kpos_result_text(code)) or ""
    if lib.kpos_last_error_code() != code:
        return cls(fallback, code=code)
    # Only Klarna's error_messages (a list) need the JSON; every scalar has its getter.
    detail: Dict[str, Any] = {}
    try:
        parsed = json.loads(from_c(lib.kpos_last_error_json()) or "{}")
        if isinstance(parsed, dict):
            detail = parsed
    except ValueError:
        pass
    http_status = lib.kpos_last_error_http_status()
    return cls(
        detail.get("message") or fallback,
        code=code,
        http_status=http_status or None,
        klarna_error_code=from_c(lib.kpos_last_error_klarna_code()),
        error_messages=detail.get("error_messages"),
        correlation_id=from_c(lib.kpos_last_error_correlation_id()),
        field=from_c(lib.kpos_last_error_field()),
        retry_after_ms=lib.kpos_last_error_retry_after_ms() or None,
    )


def check(code: int) -> None:
    """Raises the matching exception unless ``code`` is ``KPOS_OK``."""
    if code != 0:
        raise last_error(code)
