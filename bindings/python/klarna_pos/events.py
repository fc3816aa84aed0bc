"""Status events of a session (``kpos_session_watch``): :meth:`Session.watch` and
:meth:`Session.wait_async`, mixed into :class:`klarna_pos.Session`.

The library follows the session on its own background threads and calls one native listener
per session on its listener thread; this module hands each status to the Python listener set by
:meth:`~_Watching.watch` and to the coroutines awaiting :meth:`~_Watching.wait_async` (woken with
``loop.call_soon_threadsafe``: no thread of Python's own is kept busy).
"""

from __future__ import annotations

import asyncio
import atexit
import math
import threading
import traceback
import weakref
from typing import Any, Callable, List, Optional

from ._native import STATUS_LISTENER, lib
from .errors import InvalidArgument, Timeout, check
from .status import Status

StatusListener = Callable[[Status], None]

_watching: "weakref.WeakSet[_Watching]" = weakref.WeakSet()
"""Sessions with a native watch, ended at interpreter exit (the listener thread must not call
into an interpreter that is shutting down)."""


@atexit.register
def _end_all_watches() -> None:
    for session in list(_watching):
        try:
            session._stop_native()
        except Exception:
            pass


class _Watching:
    """The watch machinery of :class:`klarna_pos.Session`."""

    _handle: Optional[int]

    def _live_handle(self) -> int:  # provided by Session
        raise NotImplementedError

    @property
    def status(self) -> Status:  # provided by Session
        raise NotImplementedError

    def _init_watching(self) -> None:
        self._watch_lock = threading.Lock()
        self._on_status: Optional[StatusListener] = None
        self._waiters: List[StatusListener] = []
        self._native = False
        # The native listener, made once and kept for the session's lifetime: the library may
        # be running it while a watch ends from inside it.
        self._thunk: Optional[Any] = None

    def watch(self, fn: Optional[StatusListener]) -> None:
        """Calls ``fn(status)`` on the library's listener thread: first with the current status,
        then once per change, in order, the last time with a terminal status. ``None`` ends the
        watch; so do :meth:`cancel` (after the final CANCELED or COMPLETED call) and
        :meth:`close`. When they return, ``fn`` is not running and will not run again (called
        from inside ``fn`` they do not wait: that call is the last, or, after :meth:`cancel`,
        the final call follows it). A second :meth:`watch` replaces the listener.

        ``fn`` runs on the library's thread, not the caller's: hand the status to the UI
        thread (Tk: ``root.after(0, ...)`` is not thread-safe, use a ``queue.Queue`` polled by
        ``after``; asyncio: ``loop.call_soon_threadsafe``). Exceptions it raises are printed and
        ignored.
        """
        self._live_handle()
        if fn is not None and not callable(fn):
            raise InvalidArgument("fn must be callable or None, not {!r}".format(fn))
        with self._watch_lock:
            self._on_status = fn
            idle = fn is None and not self._waiters
        if fn is not None:
            self._start_native()
        elif idle:
            self._stop_native()

    async def wait_async(self, timeout: float = 30.0) -> Status:
        """Waits, without blocking the event loop, until the session reaches a terminal status
        (COMPLETED, CANCELED, FAILED or EXPIRED) and returns it. Raises :class:`Timeout` after
        ``timeout`` seconds (its ``status`` is the last known status; the session is not
        cancelled). A listener set by :meth:`watch` keeps being called meanwhile.
        """
        if not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
            raise InvalidArgument("timeout must be a number of seconds, not {!r}".format(timeout))
        self._live_handle()
        loop = asyncio.get_running_loop()
        done: "asyncio.Future[Status]" = loop.create_future()

        def settle(status: Status) -> None:
            if not done.done():
                done.set_result(status)

        def waiter(status: Status) -> None:
            if status.is_terminal:
                loop.call_soon_threadsafe(settle, status)

        with self._watch_lock:
            self._waiters.append(waiter)
            start = not self._native
        try:
            if start:
                # The first call reports the current status, a terminal one included.
                self._start_native()
            elif self.status.is_terminal:
                settle(self.status)
            try:
                return await asyncio.wait_for(done, timeout)
            except asyncio.TimeoutError:
                error = Timeout(
                    "the session did not reach a final status within {} s".format(timeout)
                )
                error.status = self.status
                raise error from None
        finally:
            with self._watch_lock:
                self._waiters.remove(waiter)
                idle = not self._waiters and self._on_status is None
            if idle and self._handle is not None:
                self._stop_native()

    def _deliver(self, status: Status) -> None:
        with self._watch_lock:
            listeners = ([self._on_status] if self._on_status else []) + list(self._waiters)
            if status.is_terminal:
                self._native = False
        for fn in listeners:
            try:
                fn(status)
            except Exception:
                traceback.print_exc()

    def _start_native(self) -> None:
        if self._thunk is None:
            ref = weakref.ref(self)

            def listener(_userdata: Any, _session: Any, status: int) -> None:
                session = ref()
                if session is not None:
                    session._deliver(Status(status))

            self._thunk = STATUS_LISTENER(listener)
        thunk = self._thunk
        with self._watch_lock:
            self._native = True
        _watching.add(self)
        check(lib.kpos_session_watch(self._live_handle(), thunk, None))

    def _stop_native(self) -> None:
        with self._watch_lock:
            self._native = False
        _watching.discard(self)
        if self._handle is not None:
            # STATUS_LISTENER() is a NULL function pointer: it ends the watch.
            check(lib.kpos_session_watch(self._handle, STATUS_LISTENER(), None))

    def _after_cancel(self) -> None:
        """A cancel ended the native watch: after its final call, or, when the cancel failed,
        without one."""
        with self._watch_lock:
            self._native = False
        _watching.discard(self)

    def _end_watching(self) -> None:
        """After the native session is freed: the listeners are not called again."""
        _watching.discard(self)
        with self._watch_lock:
            self._native = False
            self._on_status = None
