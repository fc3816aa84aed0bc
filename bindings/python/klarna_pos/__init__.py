"""Klarna in-store payments for point-of-sale tills: Python binding of the klarna_pos library.

::

    from klarna_pos import Client, Status, Timeout

    client = Client.from_env()             # KLARNA_API_URL / _USERNAME / _PASSWORD
    with client.create_session(order) as session:
        show_qr(session.qr_url)
        status = session.wait(timeout=30.0)
        ...
    refund_id = client.refund(order_id, 3500, idempotency_key="return-R1001")

Every failing call raises a subclass of :class:`KlarnaError` chosen by the library's result
code. The native library is loaded from this package's directory, or from the path in
``KLARNA_POS_LIBRARY``, or, in a development checkout, from ``target/release`` or
``target/debug``.
"""

from ._native import from_c as _from_c, lib as _lib
from .client import Client, Order, Session, WebhookResult
from .errors import (
    BadRequest,
    Cancelled,
    Conflict,
    InternalError,
    InvalidArgument,
    KlarnaError,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    Timeout,
    TlsError,
    Unknown,
)
from .log import LogLevel, set_log_callback, sync_logging_level
from .qr import QrFormat, render_qr
from .status import Status, customer_text, display_text

__version__: str = _from_c(_lib.kpos_version()) or ""
"""The native library's version, ``"MAJOR.MINOR.PATCH"``."""

__all__ = [
    "BadRequest",
    "Cancelled",
    "Client",
    "Conflict",
    "InternalError",
    "InvalidArgument",
    "KlarnaError",
    "LogLevel",
    "NetworkError",
    "NotFound",
    "Order",
    "PermissionDenied",
    "ProtocolError",
    "QrFormat",
    "RateLimited",
    "Session",
    "Status",
    "Timeout",
    "TlsError",
    "Unknown",
    "WebhookResult",
    "__version__",
    "customer_text",
    "display_text",
    "render_qr",
    "set_log_callback",
    "sync_logging_level",
]
