"""The store's day from Python: the report and the lookup come back parsed, the receipt as text."""

from datetime import datetime, timedelta, timezone

import pytest

from klarna_pos import Client, Conflict, InvalidArgument, Status
from klarna_sim import TEST_PASSWORD, TEST_USER


def sale(amount: int, reference: str) -> dict:
    return {
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "order_amount": amount,
        "order_tax_amount": amount // 5,
        "order_lines": [
            {
                "type": "physical",
                "name": "Kaffe",
                "quantity": 1,
                "unit_price": amount,
                "tax_rate": 2500,
                "total_amount": amount,
                "total_tax_amount": amount // 5,
            }
        ],
        "merchant_reference1": reference,
    }


def test_a_day_is_reported_found_and_printed(sim, tmp_path):
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    with Client(
        api_url=sim.url,
        username=TEST_USER,
        password=TEST_PASSWORD,
        poll_interval_ms=100,
        journal_dir=str(tmp_path / "journal"),
    ) as client:
        with client.create_session(sale(12500, "4711")) as paid:
            sim.customer(paid.id, "approve", {"order_id": "ORDER-PY-DAY"})
            assert paid.poll() is Status.COMPLETED
            receipt = paid.receipt_text("sv")
            assert receipt.splitlines()[0] == "Betalat med Klarna"
            assert "125,00 SEK" in receipt
            assert "ORDER-PY-DAY" in receipt
            assert all(len(line) <= 42 for line in receipt.splitlines())
            assert "125.00 SEK" in paid.receipt_text()
        with client.create_session(sale(500, "4712")) as cancelled:
            with pytest.raises(Conflict):
                cancelled.receipt_text("en")
            cancelled.cancel()

        report = client.history_report(start, start + timedelta(hours=2))
        (sek,) = report["currencies"]
        assert sek["currency"] == "SEK"
        assert sek["paid"] == {"count": 1, "amount": 12500}
        assert sek["cancelled"] == {"count": 1, "amount": 500}
        assert [item["merchant_reference1"] for item in report["items"]] == ["4711", "4712"]

        found = client.history_find("4711")
        assert [(r["outcome"], r["order_id"]) for r in found] == [("paid", "ORDER-PY-DAY")]
        assert client.history_find("nothing-here") == []

        with pytest.raises(InvalidArgument) as bad:
            client.history_report("yesterday", start)
        assert bad.value.field == "from"
        with pytest.raises(InvalidArgument) as naive:
            client.history_report(start, datetime(2030, 1, 1))
        assert naive.value.field == "to"
