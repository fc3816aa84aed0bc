"""Order Management from Python against the simulator: reading an order, captures and refunds
exactly once through idempotency keys, Klarna's refusals, cancel and release."""

import json

import pytest

from klarna_pos import BadRequest, Conflict, InvalidArgument, NotFound
from klarna_sim import ROOT

# The demo order: 32400 öre, line 1 is a Kanelbulle for 3500.
COFFEE = json.loads((ROOT / "examples/orders/se_coffee.json").read_text("utf-8"))


def paid_order(sim, client) -> str:
    """Completes a new session created through the library; returns Klarna's order id."""
    with client.create_session(COFFEE) as session:
        return sim.customer(session.id, "approve")["order_id"]


def capture_on_placement(sim) -> None:
    """Orders placed from now on are captured in full (refunds need captures)."""
    status, _ = sim.request("POST", "/_sim/config", {"auto_capture": True})
    assert status == 200


def ledger(sim, order_id):
    return sim.get("/_sim/orders/" + order_id)


def keys_sent(entry, action):
    return [r["idempotency_key"] for r in entry["requests"] if r["action"] == action]


def test_get_order_returns_klarnas_order_as_a_dict(sim, client):
    order_id = paid_order(sim, client)
    order = client.get_order(order_id)
    assert order["order_id"] == order_id
    assert order["status"] == "AUTHORIZED"
    assert order["order_amount"] == 32400
    assert order["remaining_authorized_amount"] == 32400
    assert order["order_lines"] == COFFEE["order_lines"]


def test_a_refund_repeated_with_its_key_is_booked_once_with_the_same_id(sim, client):
    capture_on_placement(sim)
    order_id = paid_order(sim, client)
    first = client.refund(order_id, 500, "R-1001", "till3-R1001", description="Return at till 3")
    second = client.refund(order_id, 500, "R-1001", "till3-R1001", description="Return at till 3")
    assert first == second and first

    entry = ledger(sim, order_id)
    assert len(entry["refunds"]) == 1
    assert entry["refunds"][0]["refund_id"] == first
    assert entry["refunds"][0]["reference"] == "R-1001"
    assert entry["refunded_amount"] == 500
    assert keys_sent(entry, "refunds") == ["till3-R1001", "till3-R1001"]
    assert client.get_order(order_id)["refunded_amount"] == 500


def test_a_refund_whose_answer_is_lost_still_succeeds_once(sim, client):
    capture_on_placement(sim)
    order_id = paid_order(sim, client)
    status, _ = sim.request(
        "POST",
        "/_sim/faults",
        {
            "mode": "lose_answer",
            "count": 1,
            "method": "POST",
            "path": "/ordermanagement/v1/orders/{}/refunds".format(order_id),
        },
    )
    assert status == 200
    # No key from the till: the library makes one and keeps it for its own retry.
    refund_id = client.refund(order_id, 700)

    entry = ledger(sim, order_id)
    assert len(entry["refunds"]) == 1
    assert entry["refunds"][0]["refund_id"] == refund_id
    sent = keys_sent(entry, "refunds")
    assert len(sent) == 2 and sent[0] == sent[1], entry
    assert len(entry["idempotency_keys"]["refunds"]) == 1
    assert entry["requests"][1]["replayed"] is True


def test_a_refund_of_one_line_sends_the_line(sim, client):
    capture_on_placement(sim)
    order_id = paid_order(sim, client)
    line = client.get_order(order_id)["order_lines"][1]
    refund_id = client.refund(
        order_id, line["total_amount"], description="Return", order_lines=[line]
    )
    refund = ledger(sim, order_id)["refunds"][0]
    assert refund["refund_id"] == refund_id
    assert refund["refunded_amount"] == 3500
    assert refund["order_lines"][0]["reference"] == line["reference"]


def test_a_refund_above_the_captured_amount_is_a_conflict(sim, client):
    capture_on_placement(sim)
    order_id = paid_order(sim, client)
    with pytest.raises(Conflict) as e:
        client.refund(order_id, 32401)
    assert e.value.code == 14
    assert e.value.http_status == 403
    assert e.value.klarna_error_code == "REFUND_NOT_ALLOWED"
    assert e.value.correlation_id
    assert ledger(sim, order_id)["refunded_amount"] == 0


def test_a_cancel_after_a_capture_is_a_conflict_and_before_one_it_cancels(sim, client):
    captured = paid_order(sim, client)
    capture_id = client.capture(captured, 1000, "C-1", description="First parcel")
    entry = ledger(sim, captured)
    assert entry["captures"][0]["capture_id"] == capture_id
    assert entry["captures"][0]["description"] == "First parcel"
    assert entry["status"] == "PART_CAPTURED"
    with pytest.raises(Conflict) as e:
        client.cancel_order(captured)
    assert e.value.klarna_error_code == "CANCEL_NOT_ALLOWED"

    untouched = paid_order(sim, client)
    client.cancel_order(untouched, "void-1")
    assert client.get_order(untouched)["status"] == "CANCELLED"
    assert keys_sent(ledger(sim, untouched), "cancel") == ["void-1"]


def test_releasing_the_remaining_authorization_needs_a_capture_and_ends_captures(sim, client):
    order_id = paid_order(sim, client)
    # Klarna answers 403 NOT_ALLOWED to a release without a capture: a state conflict.
    with pytest.raises(Conflict) as e:
        client.release_remaining_authorization(order_id, "release-0")
    assert e.value.klarna_error_code == "NOT_ALLOWED"
    client.capture(order_id, 1000)
    client.release_remaining_authorization(order_id, "release-1")
    order = client.get_order(order_id)
    assert order["status"] == "CAPTURED"
    assert order["remaining_authorized_amount"] == 0
    assert keys_sent(ledger(sim, order_id), "release-remaining-authorization") == [
        "release-0",
        "release-1",
    ]
    with pytest.raises(Conflict):
        client.capture(order_id, 100)


def test_an_unknown_order_is_not_found(sim, client):
    with pytest.raises(NotFound) as e:
        client.get_order("no-such-order")
    assert e.value.klarna_error_code == "NO_SUCH_ORDER"
    with pytest.raises(NotFound):
        client.refund("no-such-order", 1)


def test_bodies_are_checked_before_anything_is_sent(sim, client):
    order_id = paid_order(sim, client)
    requests_before = sim.stats()["requests"]
    line = dict(COFFEE["order_lines"][1], total_tax_amount=1)
    for call, field in [
        (lambda: client.refund(order_id, -1), "refunded_amount"),
        (lambda: client.refund(order_id, 10**30), "refunded_amount"),
        (lambda: client.capture(order_id, -5), "captured_amount"),
        (lambda: client.refund(order_id, 100, "r" * 256), "reference"),
        (lambda: client.capture(order_id, 3500, order_lines=[line]), "order_lines[0]"),
    ]:
        with pytest.raises(BadRequest) as e:
            call()
        assert e.value.field.startswith(field), (field, e.value.field)
    with pytest.raises(InvalidArgument):
        client.refund(order_id, 100, idempotency_key="has spaces")
    with pytest.raises(InvalidArgument):
        client.refund(order_id, float("nan"))
    assert sim.stats()["requests"] == requests_before


def test_further_body_fields_pass_through(sim, client):
    order_id = paid_order(sim, client)
    client.capture(order_id, 32400, shipping_info=[{"shipping_company": "Till"}])
    capture = ledger(sim, order_id)["captures"][0]
    assert capture["captured_amount"] == 32400
    assert capture["shipping_info"] == [{"shipping_company": "Till"}]
    assert "reference" not in capture and "order_lines" not in capture


def test_journal_pending_needs_a_journal_dir(client):
    with pytest.raises(InvalidArgument) as e:
        client.journal_pending()
    assert e.value.field in (None, "journal_dir")
