"""The library's log lines, delivered to a Python callable (for example a ``logging`` logger)."""

from __future__ import annotations

import enum
import threading
from typing import Callable, Optional

from ._native import LOG_CALLBACK, from_c, lib
from .errors import check


class LogLevel(enum.IntEnum):
    """``KPOS_LOG_*``: how much the library tells."""

    ERROR = 1
    """Errors the till should know about."""
    WARN = 2
    """Unexpected but handled situations (retries, unknown statuses)."""
    INFO = 3
    """One line per session step and failed request."""
    DEBUG = 4
    """One line per HTTP request."""
    TRACE = 5
    """Everything, including personal data from orders. Never in production by default."""


_lock = threading.Lock()
# The installed ctypes callback: the library keeps only its address, so Python must keep it.
_installed: Optional[object] = None


def set_log_callback(
    callback: Optional[Callable[[LogLevel, str], None]], max_level: LogLevel = LogLevel.INFO
) -> None:
    """Sends the library's log lines up to ``max_level`` to ``callback(level, message)``, which
    may be called from any thread; ``None`` stops logging. Credentials are never logged;
    personal data only at ``TRACE``. Exceptions raised by ``callback`` are swallowed (they must
    not unwind into the library).

    For the standard ``logging`` module::

        log = logging.getLogger("klarna_pos")
        levels = {LogLevel.ERROR: logging.ERROR, LogLevel.WARN: logging.WARNING}
        set_log_callback(lambda level, text: log.log(levels.get(level, logging.DEBUG), text))
    """
    global _installed
    with _lock:
        if callback is None:
            native = LOG_CALLBACK()  # a NULL function pointer: removes the callback
        else:

            def forward(_userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
                try:
                    callback(LogLevel(level), from_c(message) or "")
                except BaseException:  # noqa: B036 - nothing may unwind into the library
                    pass

            native = LOG_CALLBACK(forward)
        check(lib.kpos_set_log_callback(native, None, int(max_level)))
        _installed = native if callback is not None else None
