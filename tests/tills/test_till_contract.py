"""The example tills' command-line contract (docs: c-api.md, "Example callers' command-line
contract"), checked on the C, C++, Python, .NET and Java tills alike.

    till ORDER.json [--timeout-ms N] [--short-code DIGITS]
    stdout: session_id=, qr_url=, payment_link=, status= (each change), order_id=, error=
    exit: 0 COMPLETED; 2 CANCELED/FAILED/EXPIRED; 1 a library error
"""

import json
import re

import pytest

from klarna_sim import ROOT

ORDER = str(ROOT / "examples/orders/se_coffee.json")
INVALID_ORDERS = {
    case["name"]: case for case in json.loads((ROOT / "tests/data/invalid_orders.json").read_text())
}
LINE = re.compile(r"^[a-z_]+=")


def keys(lines):
    """The output reduced to its keys, keeping status values: ["session_id", "status=...", ...]."""
    return [line if line.startswith("status=") else line.split("=", 1)[0] for line in lines]


def assert_contract_lines(lines):
    for line in lines:
        assert LINE.match(line), "not a key=value line: {!r}".format(line)


def write_order(tmp_path, order, name="order.json"):
    path = tmp_path / name
    path.write_text(json.dumps(order, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_full_payment_prints_every_step_in_order(run_till, auto_sim):
    till = run_till([ORDER], auto_sim.env())
    assert till.finish() == 0
    assert keys(till.lines) == [
        "session_id",
        "qr_url",
        "payment_link",
        "status=DISTRIBUTED",
        "status=ACCESSED",
        "status=COMPLETED",
        "order_id",
    ]
    session = auto_sim.session(till.value("session_id"))
    assert session["status"] == "COMPLETED"
    assert till.value("order_id") == session["order_id"]
    assert session["session_id"] in till.value("qr_url")
    assert session["session_id"] in till.value("payment_link")


def test_customer_scans_and_approves_while_the_till_waits(run_till, sim):
    till = run_till([ORDER], sim.env())
    session_id = till.expect("session_id=").split("=", 1)[1]
    assert [s["session_id"] for s in sim.sessions()] == [session_id]
    till.expect("status=DISTRIBUTED")
    sim.customer(session_id, "scan")
    till.expect("status=ACCESSED")
    sim.customer(session_id, "approve", {"order_id": "ORDER-TILL-0001"})
    till.expect("status=COMPLETED")
    assert till.finish() == 0
    assert till.lines[-1] == "order_id=ORDER-TILL-0001"
    assert_contract_lines(till.lines)


def test_timeout_cancels_the_session_at_klarna(run_till, sim):
    till = run_till([ORDER, "--timeout-ms", "1500"], sim.env())
    assert till.finish() == 2
    assert keys(till.lines) == [
        "session_id",
        "qr_url",
        "payment_link",
        "status=DISTRIBUTED",
        "status=CANCELED",
    ]
    session = sim.session(till.value("session_id"))
    assert session["status"] == "CANCELED"
    assert session["deletes"] == 1


@pytest.mark.parametrize(
    "klarna_code, error_name",
    [
        ("BAD_REQUEST", "KPOS_E_BAD_REQUEST"),
        ("PERMISSION_DENIED", "KPOS_E_PERMISSION_DENIED"),
        ("INTERNAL_ERROR", "KPOS_E_UNKNOWN"),
    ],
)
def test_customer_side_failure_exits_2_with_the_mapped_error(
    run_till, sim, klarna_code, error_name
):
    till = run_till([ORDER], sim.env())
    session_id = till.expect("session_id=").split("=", 1)[1]
    till.expect("status=DISTRIBUTED")
    sim.customer(session_id, "fail", {"code": klarna_code})
    till.expect("status=FAILED")
    assert till.finish() == 2
    error = till.lines[-1]
    assert error.startswith("error={} ".format(error_name)), error
    assert klarna_code in error
    assert error.endswith(" correlation_id=")
    assert sim.session(session_id)["deletes"] == 0


@pytest.mark.parametrize("action, status", [("cancel", "CANCELED"), ("expire", "EXPIRED")])
def test_customer_cancel_or_expiry_exits_2(run_till, sim, action, status):
    till = run_till([ORDER], sim.env())
    session_id = till.expect("session_id=").split("=", 1)[1]
    till.expect("status=DISTRIBUTED")
    sim.customer(session_id, action)
    assert till.finish() == 2
    assert till.lines[-1] == "status=" + status
    assert not any(line.startswith("error=") for line in till.lines)


@pytest.mark.parametrize(
    "case",
    ["line_tax_off_by_two", "order_amount_not_sum_of_lines", "purchase_currency_not_the_countrys"],
)
def test_invalid_order_exits_1_naming_the_field_and_sends_nothing(run_till, sim, tmp_path, case):
    bad = INVALID_ORDERS[case]
    till = run_till([write_order(tmp_path, bad["order"])], sim.env())
    assert till.finish() == 1
    assert len(till.lines) == 1, till.lines
    error = till.lines[0]
    assert error.startswith("error=KPOS_E_BAD_REQUEST "), error
    assert bad["field"] in error
    assert error.endswith(" correlation_id=")
    assert sim.stats()["create_requests"] == 0


def test_wrong_password_exits_1_with_permission_denied(run_till, sim):
    till = run_till([ORDER], sim.env(password="not-the-password"))
    assert till.finish() == 1
    assert len(till.lines) == 1, till.lines
    match = re.match(r"^error=KPOS_E_PERMISSION_DENIED .+ correlation_id=(\S+)$", till.lines[0])
    assert match, till.lines[0]
    assert sim.stats()["sessions_created"] == 0


def test_order_that_is_not_json_exits_1_with_invalid_argument(run_till, sim, tmp_path):
    path = tmp_path / "order.json"
    path.write_text("purchase_country=SE\n")
    till = run_till([str(path)], sim.env())
    assert till.finish() == 1
    assert till.lines[0].startswith("error=KPOS_E_INVALID_ARGUMENT "), till.lines


@pytest.mark.parametrize(
    "distribution",
    [None, {"method": "one_qr"}, {}],
    ids=["no_distribution", "distribution_with_method", "empty_distribution"],
)
def test_short_code_reaches_klarna(run_till, sim, tmp_path, distribution):
    order = json.loads(open(ORDER, encoding="utf-8").read())
    if distribution is not None:
        order["distribution"] = distribution
    till = run_till(
        [write_order(tmp_path, order), "--short-code", "0042137", "--timeout-ms", "500"], sim.env()
    )
    assert till.finish() == 2  # nobody pays: cancelled after 0.5 s
    session = sim.session(till.value("session_id"))
    assert session["short_code"] == "0042137"
    sent = json.loads(session["request_body"])
    assert sent["distribution"]["short_code"] == "0042137"
    assert sent["distribution"]["method"] == "one_qr"


def test_short_code_of_one_digit_is_a_bad_request(run_till, sim):
    till = run_till([ORDER, "--short-code", "7"], sim.env())
    assert till.finish() == 1
    assert till.lines[0].startswith("error=KPOS_E_BAD_REQUEST distribution.short_code"), till.lines
    assert sim.stats()["create_requests"] == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        [ORDER, "--short-code", "12a4"],
        [ORDER, "--timeout-ms", "soon"],
        [ORDER, "--timeout-ms"],
        [ORDER, "--colour", "blue"],
        [ORDER, ORDER],
        ["/no/such/order.json"],
    ],
    ids=[
        "no_order",
        "short_code_letters",
        "timeout_word",
        "timeout_missing",
        "unknown_option",
        "two_orders",
        "missing_file",
    ],
)
def test_command_line_mistakes_exit_64_before_any_request(run_till, sim, args):
    till = run_till(args, sim.env())
    assert till.finish() == 64
    assert till.lines == []
    assert till.stderr.strip() != ""
    assert sim.stats()["requests"] == 0


def test_check_reports_each_step_and_exits_0_when_all_pass(run_till, sim):
    till = run_till(["--check"], sim.env())
    assert till.finish() == 0, till.lines
    report = json.loads(till.lines[0])
    assert report["ok"] is True and report["code_name"] == "KPOS_OK"
    assert [s["step"] for s in report["steps"]] == [
        "dns",
        "tcp",
        "proxy",
        "tls",
        "credentials",
        "clock",
    ]
    assert sim.stats()["sessions_created"] == 0


def test_check_with_a_wrong_password_exits_1_naming_the_credentials(run_till, sim):
    till = run_till(["--check"], sim.env(password="not-the-password"))
    assert till.finish() == 1, till.lines
    report = json.loads(till.lines[0])
    assert report["code_name"] == "KPOS_E_PERMISSION_DENIED"
    failed = [s for s in report["steps"] if s["verdict"] == "failed"]
    assert [s["step"] for s in failed] == ["credentials"]
    assert till.lines[-1].startswith("error=KPOS_E_PERMISSION_DENIED ")


def test_verbose_puts_the_librarys_log_on_stderr(run_till, sim):
    till = run_till(["--check", "--verbose"], sim.env())
    assert till.finish() == 0, till.lines
    assert "client for " + sim.url in till.stderr, till.stderr
