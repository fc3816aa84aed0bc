"""The library's log lines, delivered to a Python callable (for example a ``logging`` logger)."""

from __future__ import annotations

import atexit
import enum
import logging
import threading
from typing import Callable, List, Optional

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
# When kpos_set_log_callback returns, the library no longer runs or calls the previous one, so
# it may be released then; except when the callback is replaced from inside a callback (the
# library cannot wait for the call it is in): those thunks are kept for the process's life.
_installed: Optional[object] = None
_kept: List[object] = []
_inside = threading.local()


def set_log_callback(
    callback: Optional[Callable[[LogLevel, str], None]], max_level: LogLevel = LogLevel.INFO
) -> None:
    """Sends the library's log lines up to ``max_level`` to ``callback(level, message)``, which
    may be called from any thread; ``None`` stops logging. Credentials are never logged;
    personal data only at ``TRACE``. Exceptions raised by ``callback`` are swallowed (they must
    not unwind into the library). When this returns, the previous callback is not running and
    will not be called again; ``callback`` may itself call ``set_log_callback``.

    For the standard ``logging`` module::

        log = logging.getLogger("klarna_pos")
        levels = {LogLevel.ERROR: logging.ERROR, LogLevel.WARN: logging.WARNING}
        set_log_callback(lambda level, text: log.log(levels.get(level, logging.DEBUG), text))
    """
    global _installed, _chosen_by_caller
    _chosen_by_caller = True
    if callback is None:
        native = LOG_CALLBACK()  # a NULL function pointer: removes the callback
    else:

        def forward(_userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
            _inside.depth = getattr(_inside, "depth", 0) + 1
            try:
                callback(LogLevel(level), from_c(message) or "")
            except BaseException:  # noqa: B036 - nothing may unwind into the library
                pass
            finally:
                _inside.depth -= 1

        native = LOG_CALLBACK(forward)
    if getattr(_inside, "depth", 0):
        # Inside a callback: another thread may hold _lock while the library waits for this
        # very call, so neither is waited for; both thunks are kept.
        _kept.extend([_installed, native])
        check(lib.kpos_set_log_callback(native, None, int(max_level)))
        _installed = native if callback is not None else None
        return
    with _lock:
        check(lib.kpos_set_log_callback(native, None, int(max_level)))
        _installed = native if callback is not None else None


# ---- the standard ``logging`` logger, with no set-up ----------------------------------------------

LOGGER_NAME = "klarna_pos"
"""The ``logging`` logger the package logs to unless :func:`set_log_callback` was called."""

_logger = logging.getLogger(LOGGER_NAME)
# A library's convention: without configuration nothing is printed (no "last resort" output).
_logger.addHandler(logging.NullHandler())

# Set once the caller chose a callback of their own (or none): the logger is then left alone.
_chosen_by_caller = False
# The level the logger bridge is installed at (0: not installed).
_bridged_level = 0

TRACE = 5
"""The ``logging`` level of ``LogLevel.TRACE`` records (below ``logging.DEBUG``)."""

_TO_LOGGING = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: TRACE,
}


def _library_level(python_level: int) -> LogLevel:
    """The most verbose library level a logger at ``python_level`` takes."""
    if 0 < python_level <= TRACE:
        return LogLevel.TRACE
    if python_level <= logging.DEBUG:
        return LogLevel.DEBUG
    if python_level <= logging.INFO:
        return LogLevel.INFO
    if python_level <= logging.WARNING:
        return LogLevel.WARN
    return LogLevel.ERROR


def _to_logger(_userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        _logger.log(_TO_LOGGING.get(LogLevel(level), logging.DEBUG), from_c(message) or "")
    except BaseException:  # noqa: B036 - nothing may unwind into the library
        pass
    finally:
        _inside.depth -= 1


_TO_LOGGER_NATIVE = LOG_CALLBACK(_to_logger)


def sync_logging_level() -> None:
    """Forwards the library's log to the ``klarna_pos`` logger at that logger's current
    effective level. Runs at import and whenever a :class:`Client` is created, so a level set
    with ``logging`` before creating clients applies; call it after changing the level later.
    Does nothing once :func:`set_log_callback` was called."""
    global _installed, _bridged_level
    if getattr(_inside, "depth", 0):
        return  # from a handler of the logger itself: changed on the next call
    with _lock:
        if _chosen_by_caller:
            return
        level = int(_library_level(_logger.getEffectiveLevel()))
        if level == _bridged_level:
            return
        check(lib.kpos_set_log_callback(_TO_LOGGER_NATIVE, None, level))
        _installed = _TO_LOGGER_NATIVE
        _bridged_level = level


def _stop_logging_at_exit() -> None:
    # At interpreter exit, daemon threads may still be inside the library: a callback they
    # start after finalisation began could not take the GIL and would end its thread inside
    # the library. Removing the callback first waits for the calls running now.
    if _installed is not None:
        try:
            lib.kpos_set_log_callback(LOG_CALLBACK(), None, int(LogLevel.ERROR))
        except BaseException:  # noqa: B036 - exiting anyway
            pass


atexit.register(_stop_logging_at_exit)

sync_logging_level()
