#!/usr/bin/env python3
"""A return at the till: looks up a Klarna order, refunds one of its order lines and prints the
refund id.

    refund.py ORDER_ID [LINE_INDEX [IDEMPOTENCY_KEY]]

env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD (and optionally KLARNA_JOURNAL_DIR).
LINE_INDEX says which order line is returned (default 0). IDEMPOTENCY_KEY is e.g. derived from
the return receipt, so that running the same return again (after a crash or an error) refunds
once; without it the library makes one.

stdout, key=value lines:

    order_status=<AUTHORIZED|PART_CAPTURED|CAPTURED|...>
    line=<name> refunded_amount=<minor units>
    refund_id=<id>
    error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>   (on failure)

Exit status: 0 refunded; 1 any error. Behaves exactly like examples/c/refund.c.
"""

import importlib.util
import sys
from pathlib import Path
from typing import List

if importlib.util.find_spec("klarna_pos") is None:
    # Not installed with pip: use the package from this checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

from klarna_pos import Client, KlarnaError

USAGE = "usage: refund ORDER_ID [LINE_INDEX [IDEMPOTENCY_KEY]]"


def report(error: KlarnaError) -> int:
    """The error= line: code name, the library's message, the correlation id for Klarna support."""
    print("error={} {} correlation_id={}".format(error.name, error, error.correlation_id or ""))
    return 1


def main(argv: List[str]) -> int:
    if not 1 <= len(argv) <= 3:
        print(USAGE, file=sys.stderr)
        return 1
    order_id = argv[0]
    try:
        index = int(argv[1]) if len(argv) > 1 else 0
    except ValueError:
        print(USAGE, file=sys.stderr)
        return 1
    key = argv[2] if len(argv) > 2 else None  # None: the library makes a UUID

    try:
        with Client.from_env() as client:
            order = client.get_order(order_id)
            print("order_status={}".format(order.get("status", "")))

            lines = order.get("order_lines") or []
            if not 0 <= index < len(lines) or "total_amount" not in lines[index]:
                print(
                    "error=KPOS_E_BAD_REQUEST the order has no line {} correlation_id=".format(
                        index
                    )
                )
                return 1
            # Refund the whole line, sent as Klarna has it, so the refund names what came back.
            line = lines[index]
            amount = line["total_amount"]
            print("line={} refunded_amount={}".format(line.get("name", ""), amount))

            refund_id = client.refund(
                order_id, amount, None, key, description="Return at the till", order_lines=[line]
            )
            print("refund_id={}".format(refund_id))
            return 0
    except KlarnaError as e:
        return report(e)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
