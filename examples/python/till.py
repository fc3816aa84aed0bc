#!/usr/bin/env python3
"""Take one Klarna in-store payment from the command line.

    till.py ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]
    till.py --check [--verbose]

Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
KLARNA_PASSWORD). Progress goes to stdout as one ``key=value`` line per event, flushed at once
so that a script can follow the payment live:

    session_id=<id>
    qr_url=<url>                  show this QR code to the customer
    payment_link=<url>            (when Klarna gives one)
    status=<STATUS>               on every change: DISTRIBUTED, ACCESSED, COMPLETED, ...
    order_id=<id>                 when the payment COMPLETED
    error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>

Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED (also when --timeout-ms runs out: the
till then cancels the session, as Klarna recommends); 1 any other library error; 64 a mistake
on the command line. --check prints the health check's JSON report instead (exit 0 when every
step passed, else 1); --verbose the library's debug log on stderr (through the standard
``logging`` logger ``klarna_pos``). Behaves exactly like examples/c/till.c.
"""

import importlib.util
import json
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

if importlib.util.find_spec("klarna_pos") is None:
    # Not installed with pip: use the package from this checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

from klarna_pos import Client, Conflict, KlarnaError, Session, Status, Timeout, sync_logging_level

EXIT_COMPLETED = 0
EXIT_LIBRARY_ERROR = 1
EXIT_NOT_PAID = 2
EXIT_USAGE = 64

# How long the till waits for the customer when --timeout-ms is not given.
DEFAULT_TIMEOUT_MS = 120_000

USAGE = (
    "usage: till.py ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]\n"
    "       till.py --check [--verbose]"
)


class UsageError(Exception):
    """A mistake on the command line (exit 64)."""


def emit(key: str, value: str) -> None:
    """One ``key=value`` line, flushed at once: scripts read the till's output while it runs."""
    print("{}={}".format(key, value), flush=True)


def one_line(text: str) -> str:
    """The text with control characters as spaces, so that an error stays on its line."""
    return "".join(" " if ord(c) < 0x20 else c for c in text)


def report_error(error: KlarnaError) -> None:
    """The error= line: code name, message, and the correlation id for Klarna support."""
    print(
        "error={} {} correlation_id={}".format(
            error.name, one_line(error.message), error.correlation_id or ""
        ),
        flush=True,
    )


def run_check() -> int:
    """--check: the health check's report on stdout, then an error= line when a step failed."""
    try:
        with Client.from_env() as client:
            report = client.check()
    except KlarnaError as e:
        report_error(e)
        return EXIT_LIBRARY_ERROR
    print(json.dumps(report), flush=True)
    if report["ok"]:
        return EXIT_COMPLETED
    failed = next(s for s in report["steps"] if s["verdict"] == "failed")
    print(
        "error={} health check step {} failed: {} ({}) correlation_id=".format(
            report["code_name"], failed["step"], one_line(failed["detail"]), failed["action"]
        ),
        flush=True,
    )
    return EXIT_LIBRARY_ERROR


def parse_args(argv: List[str]) -> Tuple[str, int, Optional[str]]:
    order_path: Optional[str] = None
    timeout_ms = DEFAULT_TIMEOUT_MS
    short_code: Optional[str] = None
    args = iter(argv)
    for arg in args:
        if arg in ("--timeout-ms", "--short-code"):
            value = next(args, None)
            if value is None:
                raise UsageError(USAGE)
            if arg == "--timeout-ms":
                if not (value.isascii() and value.isdigit()) or int(value) > 0xFFFFFFFF:
                    raise UsageError("till.py: --timeout-ms needs a number of milliseconds")
                timeout_ms = int(value)
            else:
                if not (value.isascii() and value.isdigit()) or len(value) > 32:
                    raise UsageError("till.py: --short-code needs the digits the customer read out")
                short_code = value
        elif arg.startswith("-") or order_path is not None:
            raise UsageError(USAGE)
        else:
            order_path = arg
    if order_path is None:
        raise UsageError(USAGE)
    return order_path, timeout_ms, short_code


def with_short_code(order_text: str, digits: str) -> str:
    """The order with distribution.short_code set, for the static-QR flow where the customer
    reads a code from the store's printed QR (the library checks the 2-20 digit rule). Refuses
    an order that has a short code already or a distribution that is not an object; a text that
    is not a JSON object goes to the library unchanged, which reports it."""
    if '"short_code"' in order_text:
        raise UsageError("has a short_code already; drop it or --short-code")
    try:
        order = json.loads(order_text)
    except ValueError:
        return order_text
    if not isinstance(order, dict):
        return order_text
    if "distribution" not in order:
        order = {"distribution": {"short_code": digits}, **order}
    elif isinstance(order["distribution"], dict):
        order["distribution"] = {"short_code": digits, **order["distribution"]}
    else:
        raise UsageError("has a distribution that is not an object")
    return json.dumps(order, ensure_ascii=False)


class Progress:
    """Prints whatever became known: the QR code and payment link once the session is
    distributed (before its status line, so the cashier's screen can show it), then the status
    when it changed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.shown_status = Status.CREATED  # CREATED is local, nothing to show
        self.qr_shown = False

    def report(self, status: Status) -> None:
        if not self.qr_shown and self.session.qr_url is not None:
            emit("qr_url", self.session.qr_url)
            if self.session.payment_link is not None:
                emit("payment_link", self.session.payment_link)
            self.qr_shown = True
        if status != self.shown_status:
            emit("status", status.name)
            self.shown_status = status


def finish(session: Session, status: Status) -> int:
    """The exit status for a session that reached a terminal status, printing its outcome."""
    if status == Status.COMPLETED:
        # The order is placed: keep the order id for capture, refund or cancel later.
        emit("order_id", session.order_id or "")
        return EXIT_COMPLETED
    if status == Status.FAILED:
        # BadRequest, PermissionDenied or Unknown, with Klarna's detail.
        failure = session.failure
        if failure is not None:
            report_error(failure)
    return EXIT_NOT_PAID


def follow(session: Session, timeout_ms: int) -> int:
    """Follows the session until it is terminal or the till's own deadline passes. Klarna
    advises a POS to give up after a time of its choosing and cancel actively, so a customer
    cannot pay for a sale the till has abandoned."""
    deadline = time.monotonic() + timeout_ms / 1000.0
    progress = Progress(session)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            # Blocks until the status changes; polling and back-off happen inside the library.
            status = session.wait(timeout=remaining)
        except Timeout as e:
            progress.report(e.status or session.status)
            break
        except KlarnaError as e:
            report_error(e)
            # Giving up: make sure the customer can no longer pay this session.
            try:
                session.cancel()
            except KlarnaError:
                pass
            return EXIT_LIBRARY_ERROR
        progress.report(status)
        if status.is_terminal:
            return finish(session, status)

    # Out of time: cancel. If the customer completed the payment meanwhile, Klarna refuses the
    # cancel with Conflict and the session reports COMPLETED: the sale is paid.
    try:
        session.cancel()
    except Conflict:
        pass
    except KlarnaError as e:
        report_error(e)
        return EXIT_LIBRARY_ERROR
    progress.report(session.status)
    return finish(session, session.status)


def main(argv: List[str]) -> int:
    if "--verbose" in argv:
        argv = [a for a in argv if a != "--verbose"]
        logging.basicConfig(stream=sys.stderr, format="klarna-pos %(levelname)s: %(message)s")
        logging.getLogger("klarna_pos").setLevel(logging.DEBUG)
        sync_logging_level()
    if "--check" in argv:
        if argv != ["--check"]:
            print(USAGE, file=sys.stderr)
            return EXIT_USAGE
        return run_check()
    try:
        order_path, timeout_ms, short_code = parse_args(argv)
        try:
            order = Path(order_path).read_bytes().decode("utf-8", errors="surrogateescape")
        except OSError as e:
            raise UsageError("till.py: cannot read {}: {}".format(order_path, e.strerror))
    except UsageError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    if short_code is not None:
        try:
            order = with_short_code(order, short_code)
        except UsageError as e:
            print("till.py: {} {}".format(order_path, e), file=sys.stderr)
            return EXIT_USAGE

    try:
        # Endpoint and credentials from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD.
        # A real till creates one client at start-up and shares it.
        with Client.from_env() as client:
            # Validated locally first: nothing is sent when a field is wrong, and the error
            # names the field (e.g. order_lines[1].total_tax_amount).
            raw = order.encode("utf-8", errors="surrogateescape")
            with client.create_session(raw) as session:
                # Keep the id (and session.result_url) so that a restarted till can resume.
                emit("session_id", session.id)
                return follow(session, timeout_ms)
    except KlarnaError as e:
        report_error(e)
        return EXIT_LIBRARY_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
