#!/usr/bin/env python3
"""Run once when the till starts, before taking new payments: lists the work a killed or
powered-off till left open in the journal and finishes it. Sessions are resumed and followed
until they end; Order Management calls are repeated with their recorded idempotency key, so
Klarna applies each of them exactly once.

    recover.py [--wait-ms N]

env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD, KLARNA_JOURNAL_DIR (required).
--wait-ms: how long to wait for a resumed session to end before cancelling it (default 120000).

stdout, key=value lines:

    pending=<n>
    session session_id=<id> status=<STATUS> [order_id=<id>]
    session_unanswered created_at=<t> order_amount=<n> merchant_reference1=<ref>
        (its create was sent but never answered: it cannot be resumed; check the payment with
         Klarna; listed until the session would have expired)
    refund order_id=<id> idempotency_key=<key> refund_id=<id>
    capture order_id=<id> idempotency_key=<key> capture_id=<id>
    cancel|release order_id=<id> idempotency_key=<key> done
    error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>   (per item that failed)
    remaining=<n>

Exit status: 0 when nothing failed; 1 otherwise. Behaves exactly like examples/c/recover.c.
"""

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

if importlib.util.find_spec("klarna_pos") is None:
    # Not installed with pip: use the package from this checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

from klarna_pos import Client, KlarnaError, Status, Timeout

USAGE = "usage: recover [--wait-ms N]"
DEFAULT_WAIT_MS = 120_000


def report(error: KlarnaError) -> bool:
    """The error= line; returns True (something failed)."""
    print("error={} {} correlation_id={}".format(error.name, error, error.correlation_id or ""))
    return True


def text(value: Any) -> str:
    """A string field of a record as printed: "" when it is not a string."""
    return value if isinstance(value, str) else ""


def finish_session(client: Client, record: Dict[str, Any], wait_ms: int) -> bool:
    """Resumes a session and follows it until it is terminal (cancelling it after wait_ms).
    Returns True when something failed."""
    session_id, result_url = text(record.get("session_id")), text(record.get("result_url"))
    try:
        session = client.resume_session(session_id, result_url)
    except KlarnaError as e:
        return report(e)
    failed = False
    with session:
        status = Status.CREATED
        while not status.is_terminal:
            try:
                status = session.wait(timeout=wait_ms / 1000)
            except Timeout:
                # Nobody is paying any more: cancel, as Klarna recommends.
                try:
                    session.cancel()
                except KlarnaError as e:
                    failed = report(e)
                status = session.status
                break
            except KlarnaError as e:
                failed = report(e)
                break
        line = "session session_id={} status={}".format(session_id, status.name)
        if session.order_id is not None:
            line += " order_id={}".format(session.order_id)
        print(line)
    return failed


def finish_call(client: Client, record: Dict[str, Any], kind: str) -> bool:
    """Repeats an Order Management call with its recorded idempotency key. Returns True when it
    failed."""
    order_id, key = text(record.get("order_id")), text(record.get("idempotency_key"))
    body = dict(record.get("body") or {})
    created: Optional[str] = None
    try:
        if kind == "refund":
            amount = body.pop("refunded_amount", None)
            created = client.refund(order_id, amount, idempotency_key=key, **body)
        elif kind == "capture":
            amount = body.pop("captured_amount", None)
            created = client.capture(order_id, amount, idempotency_key=key, **body)
        elif kind == "cancel":
            client.cancel_order(order_id, key)
        else:
            client.release_remaining_authorization(order_id, key)
    except KlarnaError as e:
        return report(e)
    line = "{} order_id={} idempotency_key={}".format(kind, order_id, key)
    print(line + (" {}_id={}".format(kind, created) if created is not None else " done"))
    return False


def main(argv: List[str]) -> int:
    wait_ms = DEFAULT_WAIT_MS
    if len(argv) == 2 and argv[0] == "--wait-ms" and argv[1].isdigit():
        wait_ms = int(argv[1])
    elif argv:
        print(USAGE, file=sys.stderr)
        return 1

    try:
        client = Client.from_env()
    except KlarnaError as e:
        report(e)
        return 1
    with client:
        try:
            pending = client.journal_pending()
        except KlarnaError as e:
            report(e)
            return 1
        print("pending={}".format(len(pending)))
        failed = False
        for record in pending:
            kind = text(record.get("kind"))
            if kind != "session":
                failed |= finish_call(client, record, kind)
            elif record.get("session_id") is None:
                amount = json.dumps(record["order_amount"]) if "order_amount" in record else ""
                print(
                    "session_unanswered created_at={} order_amount={} merchant_reference1={}".format(
                        text(record.get("created_at")),
                        amount,
                        text(record.get("merchant_reference1")),
                    )
                )
            else:
                failed |= finish_session(client, record, wait_ms)
        try:
            after = client.journal_pending()
        except KlarnaError as e:
            report(e)
            return 1
        print("remaining={}".format(len(after)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
