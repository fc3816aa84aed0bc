#!/usr/bin/env python3
"""A chain's webhooks: one central receiver verifies Klarna's status callbacks and relays them to
the tills, which sit behind their shops' NAT and fetch them over an HTTP long poll.

    webhook_relay.py receiver [--listen HOST:PORT] [--verbose]
    webhook_relay.py till ORDER.json --receiver URL --till ID [--timeout-ms N] [--verbose]

Both read the chain's configuration from the environment: KLARNA_API_URL, KLARNA_USERNAME,
KLARNA_PASSWORD and the secret every till and receiver instance shares, KLARNA_WEBHOOK_SECRET
(32 to 64 random bytes, e.g. ``openssl rand -hex 32``; KLARNA_WEBHOOK_SECRET_PREVIOUS too
while it is rotated); the receiver also takes them from the file KLARNA_POS_CONFIG names. See
docs/webhooks.md.

receiver: an HTTP server with two routes, printing ``listening=http://HOST:PORT`` first.
  POST /klarna/status?till=ID&kpos_ref=..&kpos_token=..
      Klarna's callback. Client.verify_webhook authenticates it with the secret alone (the
      receiver has no session: it learns the session id and the status the callback reports,
      which is not confirmed) and it is answered 200 (queued for till ID), 403 (forged, altered
      or made with another secret), 400 (not a status payload, or no till named) or 503 (Klarna
      delivers again). One line per call: ``verified till=ID session_id=S status=X`` or
      ``refused=403 KPOS_E_PERMISSION_DENIED``.
  GET /relay?till=ID&wait_ms=N
      A till's long poll: the JSON list of the callbacks queued for it (``{"target", "body"}``,
      as received), waiting up to N ms for the first. A till that is away loses the oldest
      callbacks beyond MAILBOX_LIMIT; its own safety-net poll still sees the payment finish.
  Instances of the receiver share nothing but the secret: any one of them verifies any
  callback. (Several instances need a shared mailbox, e.g. the chain's message bus, in place
  of the in-memory one here.)

till: creates the session with webhook_url = URL/klarna/status?till=ID and prints
``session_id=``, ``qr_url=``, then ``status=`` on every change and ``order_id=`` when COMPLETED,
while a thread long-polls the receiver and hands each relayed callback to
Client.verify_webhook, which applies it to the session (a COMPLETED is confirmed with Klarna by
one status read). Exit 0 COMPLETED; 2 CANCELED, FAILED, EXPIRED or --timeout-ms passed (the
session is then cancelled); 1 any other library error; 64 a mistake on the command line.
--verbose writes the library's debug log to stderr (it never holds the secret or a token).
"""

import http.server
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple

if importlib.util.find_spec("klarna_pos") is None:
    # Not installed with pip: use the package from this checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

from klarna_pos import (
    BadRequest,
    Client,
    KlarnaError,
    PermissionDenied,
    Status,
    Timeout,
    sync_logging_level,
)

CALLBACK_PATH = "/klarna/status"
RELAY_PATH = "/relay"
# Callbacks kept for a till that does not fetch them; the oldest go first.
MAILBOX_LIMIT = 1000
# How long one long poll of a till waits at most.
LONG_POLL_MS = 20_000
DEFAULT_TIMEOUT_MS = 120_000
EXIT_COMPLETED, EXIT_LIBRARY_ERROR, EXIT_NOT_PAID, EXIT_USAGE = 0, 1, 2, 64

USAGE = (
    "usage: webhook_relay.py receiver [--listen HOST:PORT] [--verbose]\n"
    "       webhook_relay.py till ORDER.json --receiver URL --till ID [--timeout-ms N] [--verbose]"
)


# The relay thread and the status loop both write lines: one at a time, whole.
EMIT_LOCK = threading.Lock()


def emit(line: str) -> None:
    with EMIT_LOCK:
        print(line, flush=True)


def chain_config() -> Dict[str, Any]:
    """The configuration every till and receiver of the chain shares, from the environment."""
    config: Dict[str, Any] = {}
    for variable, key in (
        ("KLARNA_API_URL", "api_url"),
        ("KLARNA_USERNAME", "username"),
        ("KLARNA_PASSWORD", "password"),
        ("KLARNA_WEBHOOK_SECRET", "webhook_secret"),
        ("KLARNA_WEBHOOK_SECRET_PREVIOUS", "webhook_secret_previous"),
    ):
        if os.environ.get(variable):
            config[key] = os.environ[variable]
    if "webhook_secret" not in config:
        raise SystemExit("webhook_relay.py: KLARNA_WEBHOOK_SECRET is not set")
    return config


# ---- the receiver -----------------------------------------------------------------------------


class Mailboxes:
    """The callbacks waiting for each till."""

    def __init__(self) -> None:
        self.boxes: Dict[str, Deque[Dict[str, str]]] = {}
        self.changed = threading.Condition()

    def put(self, till: str, message: Dict[str, str]) -> None:
        with self.changed:
            self.boxes.setdefault(till, deque(maxlen=MAILBOX_LIMIT)).append(message)
            self.changed.notify_all()

    def take(self, till: str, wait_ms: int) -> List[Dict[str, str]]:
        deadline = time.monotonic() + wait_ms / 1000.0
        with self.changed:
            while not self.boxes.get(till):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.changed.wait(remaining)
            box = self.boxes.pop(till)
            return list(box)


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], client: Client) -> None:
        super().__init__(address, ReceiverHandler)
        self.client = client
        self.mailboxes = Mailboxes()


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def answer(self, code: int, body: bytes = b"") -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.answer(404)
            return
        try:
            # Only the secret is needed here: the library authenticates the callback's token
            # (in constant time) before it reads anything else, then reports the session id and
            # the status in the body. That status is a claim: the till confirms a COMPLETED.
            result = self.server.client.verify_webhook(self.path, body)
        except (PermissionDenied, BadRequest) as e:
            emit("refused={} {}".format(403 if isinstance(e, PermissionDenied) else 400, e.name))
            self.answer(403 if isinstance(e, PermissionDenied) else 400)
            return
        except KlarnaError as e:
            emit("refused=503 {}".format(e.name))
            self.answer(503)
            return
        till = urllib.parse.parse_qs(parts.query).get("till", [""])[0]
        if not till:
            emit("refused=400 no till named session_id={}".format(result.session_id))
            self.answer(400)
            return
        # verify_webhook read the body as JSON text, so it is UTF-8.
        self.server.mailboxes.put(till, {"target": self.path, "body": body.decode("utf-8")})
        emit(
            "verified till={} session_id={} status={}".format(
                till, result.session_id, result.status.name
            )
        )
        self.answer(200)

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        till = query.get("till", [""])[0]
        if parts.path != RELAY_PATH or not till:
            self.answer(404)
            return
        try:
            wait_ms = min(int(query.get("wait_ms", ["0"])[0]), LONG_POLL_MS)
        except ValueError:
            wait_ms = 0
        messages = self.server.mailboxes.take(till, max(wait_ms, 0))
        self.answer(200, json.dumps(messages).encode("utf-8"))

    def log_message(self, *args: Any) -> None:  # one line per call is printed above
        pass


def run_receiver(listen: str) -> int:
    host, _, port = listen.rpartition(":")
    if not os.environ.get("KLARNA_WEBHOOK_SECRET") and not os.environ.get("KLARNA_POS_CONFIG"):
        raise SystemExit("webhook_relay.py: KLARNA_WEBHOOK_SECRET is not set")
    # The KLARNA_* variables, or the file KLARNA_POS_CONFIG names, with webhook_secret.
    with Client.from_env() as client:
        server = Receiver((host or "127.0.0.1", int(port)), client)
        emit("listening=http://{}:{}".format(*server.server_address[:2]))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


# ---- the till ---------------------------------------------------------------------------------


def take_relayed(client: Client, receiver: str, till: str, stop: threading.Event) -> None:
    """Fetches the callbacks relayed to this till and applies each to its session."""
    url = "{}{}?{}".format(
        receiver, RELAY_PATH, urllib.parse.urlencode({"till": till, "wait_ms": LONG_POLL_MS})
    )
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=LONG_POLL_MS / 1000.0 + 10) as resp:
                messages = json.loads(resp.read())
        except (OSError, ValueError) as e:
            # The receiver is away: the session's safety-net poll still follows the payment.
            emit("relay_unavailable={}".format(e))
            stop.wait(1.0)
            continue
        for message in messages:
            try:
                result = client.verify_webhook(message["target"], message["body"])
                emit("relayed={} {}".format(result.session_id, result.status.name))
            except KlarnaError as e:
                emit("relay_refused={} {}".format(e.name, e.message))


def run_till(order_path: str, receiver: str, till: str, timeout_ms: int) -> int:
    order = Path(order_path).read_text("utf-8")
    config = chain_config()
    config["webhook_url"] = "{}{}?{}".format(
        receiver.rstrip("/"), CALLBACK_PATH, urllib.parse.urlencode({"till": till})
    )
    stop = threading.Event()
    with Client(**config) as client:
        try:
            session = client.create_session(order)
        except KlarnaError as e:
            emit("error={} {}".format(e.name, e.message))
            return EXIT_LIBRARY_ERROR
        emit("session_id={}".format(session.id))
        relay = threading.Thread(
            target=take_relayed, args=(client, receiver.rstrip("/"), till, stop), daemon=True
        )
        relay.start()
        deadline = time.monotonic() + timeout_ms / 1000.0
        shown, qr_shown = Status.CREATED, False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    session.cancel()
                    emit("status={}".format(session.status.name))
                    return EXIT_NOT_PAID
                try:
                    # Returns as soon as a relayed callback changed the status; the library
                    # polls only every webhook_poll_interval_ms, as the safety net.
                    status = session.wait(timeout=remaining)
                except Timeout:
                    continue
                if not qr_shown and session.qr_url:
                    emit("qr_url={}".format(session.qr_url))
                    qr_shown = True
                if status != shown:
                    emit("status={}".format(status.name))
                    shown = status
                if status == Status.COMPLETED:
                    emit("order_id={}".format(session.order_id or ""))
                    return EXIT_COMPLETED
                if status.is_terminal:
                    return EXIT_NOT_PAID
        except KlarnaError as e:
            emit("error={} {}".format(e.name, e.message))
            return EXIT_LIBRARY_ERROR
        finally:
            stop.set()
            session.close()


def main(argv: List[str]) -> int:
    if "--verbose" in argv:
        argv = [a for a in argv if a != "--verbose"]
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        sync_logging_level()
    if argv[:1] == ["receiver"]:
        listen = "127.0.0.1:0"
        if argv[1:2] == ["--listen"] and len(argv) == 3:
            listen = argv[2]
        elif len(argv) != 1:
            print(USAGE, file=sys.stderr)
            return EXIT_USAGE
        return run_receiver(listen)
    if argv[:1] == ["till"] and len(argv) >= 2:
        options: Dict[str, Optional[str]] = {"--receiver": None, "--till": None}
        options["--timeout-ms"] = str(DEFAULT_TIMEOUT_MS)
        rest = iter(argv[2:])
        for arg in rest:
            value = next(rest, None)
            if arg not in options or value is None:
                print(USAGE, file=sys.stderr)
                return EXIT_USAGE
            options[arg] = value
        receiver, till, timeout = options["--receiver"], options["--till"], options["--timeout-ms"]
        if not receiver or not till or not (timeout or "").isdigit():
            print(USAGE, file=sys.stderr)
            return EXIT_USAGE
        return run_till(argv[1], receiver, till, int(timeout or 0))
    print(USAGE, file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
