"""The Python examples examples/python/refund.py and recover.py against the simulator: the same
command lines and output as examples/c/refund.c and recover.c, which are compiled here with gcc
and run on the same scenarios for comparison."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from klarna_pos import Client, KlarnaError
from klarna_sim import ROOT, TEST_PASSWORD, TEST_USER, Simulator, profile_dir

COFFEE = json.loads((ROOT / "examples/orders/se_coffee.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def c_examples(tmp_path_factory) -> Dict[str, List[str]]:
    """examples/c/refund.c and recover.c, compiled with the examples' flags."""
    out = tmp_path_factory.mktemp("c_examples")
    commands = {}
    for name in ("refund", "recover"):
        subprocess.run(
            [
                os.environ.get("CC", "gcc"),
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-I",
                str(ROOT / "include"),
                str(ROOT / "examples/c/{}.c".format(name)),
                "-o",
                str(out / name),
                "-L",
                str(profile_dir()),
                "-lklarna_pos",
                "-Wl,-rpath," + str(profile_dir()),
            ],
            check=True,
        )
        commands[name] = [str(out / name)]
    return commands


def python_example(name: str) -> List[str]:
    return [sys.executable, str(ROOT / "examples/python/{}.py".format(name))]


def run(
    command: List[str], sim: Simulator, args: List[str], journal: Optional[Path] = None
) -> Tuple[int, str]:
    env = sim.env()
    env.pop("KLARNA_JOURNAL_DIR", None)
    if journal is not None:
        env["KLARNA_JOURNAL_DIR"] = str(journal)
    done = subprocess.run(
        command + args, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120
    )
    return done.returncode, done.stdout


def value_of(stdout: str, prefix: str, key: str) -> Optional[str]:
    """The value of `key=` on the first line starting with `prefix`."""
    for line in stdout.splitlines():
        if line.startswith(prefix):
            for word in line.split(" "):
                if word.startswith(key + "="):
                    return word[len(key) + 1 :]
    return None


def masked(stdout: str) -> str:
    """The output with what differs between two runs (ids, times) replaced by "*"."""
    ids = r"(session_id|order_id|refund_id|capture_id|correlation_id|created_at)=\S*"
    stdout = re.sub(ids, r"\1=*", stdout)
    return re.sub(r"correlation_id [^)]*\)", "correlation_id *)", stdout)


def captured_sim() -> Simulator:
    """A simulator whose orders are captured in full when placed (refunds need captures)."""
    sim = Simulator(customer="manual")
    status, _ = sim.request("POST", "/_sim/config", {"auto_capture": True})
    assert status == 200
    return sim


def paid_order(sim: Simulator, client: Client) -> str:
    with client.create_session(COFFEE) as session:
        return sim.customer(session.id, "approve")["order_id"]


def sim_client(sim: Simulator, **extra) -> Client:
    return Client(
        api_url=sim.url, username=TEST_USER, password=TEST_PASSWORD, poll_interval_ms=100, **extra
    )


def test_the_python_refund_example_returns_one_line_and_prints_the_refund_id(c_examples):
    sim = captured_sim()
    try:
        with sim_client(sim) as client:
            order_id = paid_order(sim, client)
            c_order_id = paid_order(sim, client)

        code, stdout = run(python_example("refund"), sim, [order_id, "1", "return-R1001"])
        assert code == 0, stdout
        lines = stdout.splitlines()
        assert lines[0] == "order_status=CAPTURED"
        assert lines[1] == "line=Kanelbulle refunded_amount=3500"
        refund_id = lines[2][len("refund_id=") :]
        assert lines[2].startswith("refund_id=") and refund_id and len(lines) == 3

        ledger = sim.get("/_sim/orders/" + order_id)
        assert ledger["refunded_amount"] == 3500
        assert ledger["refunds"][0]["refund_id"] == refund_id
        assert ledger["refunds"][0]["description"] == "Return at the till"
        assert ledger["refunds"][0]["order_lines"][0]["reference"] == "BAK-KANEL"

        # The same return again, with the same receipt key: Klarna refunds once.
        code, again = run(python_example("refund"), sim, [order_id, "1", "return-R1001"])
        assert code == 0, again
        assert value_of(again, "refund_id", "refund_id") == refund_id
        assert len(sim.get("/_sim/orders/" + order_id)["refunds"]) == 1

        # The C example prints the same lines for the same return of another order.
        code, c_stdout = run(c_examples["refund"], sim, [c_order_id, "1", "return-R1001"])
        assert code == 0, c_stdout
        assert masked(c_stdout) == masked(stdout)
    finally:
        sim.close()


def test_the_python_refund_example_reports_klarnas_refusal_like_the_c_one(c_examples):
    sim = Simulator(customer="manual")
    try:
        with sim_client(sim) as client:
            order_id = paid_order(sim, client)  # authorized, nothing captured
        code, stdout = run(python_example("refund"), sim, [order_id, "0"])
        assert code == 1, stdout
        error = next(line for line in stdout.splitlines() if line.startswith("error="))
        assert error.startswith("error=KPOS_E_CONFLICT "), error
        assert "REFUND_NOT_ALLOWED" in error
        assert value_of(error, "error", "correlation_id")

        c_code, c_stdout = run(c_examples["refund"], sim, [order_id, "0"])
        assert (c_code, masked(c_stdout)) == (code, masked(stdout))

        for args in (["no-such-order"], [order_id, "7"]):
            outputs = [
                run(cmd, sim, args) for cmd in (python_example("refund"), c_examples["refund"])
            ]
            assert outputs[0][0] == outputs[1][0] == 1, outputs
            assert masked(outputs[0][1]) == masked(outputs[1][1])
    finally:
        sim.close()


def test_the_refund_examples_refuse_a_wrong_command_line(c_examples):
    sim = Simulator(customer="manual")
    try:
        for command in (python_example("refund"), c_examples["refund"]):
            code, stdout = run(command, sim, [])
            assert (code, stdout) == (1, "")
    finally:
        sim.close()


def leave_work_open(sim: Simulator, journal: Path) -> Tuple[str, str]:
    """A till that stopped following a session, got no answer to a refund and lost the answer
    to a create, then went away. Returns the session id and the refunded order's id."""
    with sim_client(sim) as plain:
        order_id = paid_order(sim, plain)
    with sim_client(sim, journal_dir=str(journal)) as till:
        session = till.create_session(COFFEE)
        session_id = session.id
        session.close()
        sim.request(
            "POST", "/_sim/faults", {"mode": "status_503", "count": 3, "path": "/ordermanagement/"}
        )
        with pytest.raises(KlarnaError):
            till.refund(order_id, 1000, idempotency_key="ret-77")
        sim.request(
            "POST",
            "/_sim/faults",
            {"mode": "lose_answer", "path": "/payments/v1/sessions", "method": "POST"},
        )
        with pytest.raises(KlarnaError):
            till.create_session(COFFEE)
    return session_id, order_id


def test_the_python_recover_example_finishes_what_a_till_left_open(c_examples, tmp_path):
    sim = captured_sim()
    try:
        session_id, order_id = leave_work_open(sim, tmp_path / "py")
        c_session_id, c_order_id = leave_work_open(sim, tmp_path / "c")
        sim.request("POST", "/_sim/config", {"customer": "auto", "auto_delay_ms": 0})

        code, stdout = run(python_example("recover"), sim, ["--wait-ms", "10000"], tmp_path / "py")
        assert code == 0, stdout
        lines = stdout.splitlines()
        assert lines[0] == "pending=3", stdout
        assert value_of(stdout, "session ", "session_id") == session_id
        assert value_of(stdout, "session ", "status") == "COMPLETED"
        assert value_of(stdout, "session ", "order_id"), stdout
        assert value_of(stdout, "refund ", "order_id") == order_id
        assert value_of(stdout, "refund ", "idempotency_key") == "ret-77"
        assert value_of(stdout, "session_unanswered", "order_amount") == "32400"
        assert value_of(stdout, "session_unanswered", "merchant_reference1") == (
            COFFEE["merchant_reference1"]
        )
        assert lines[-1] == "remaining=1", "only the unanswered create: " + stdout

        ledger = sim.get("/_sim/orders/" + order_id)
        assert len(ledger["refunds"]) == 1
        assert ledger["refunds"][0]["refund_id"] == value_of(stdout, "refund ", "refund_id")
        assert ledger["idempotency_keys"]["refunds"] == ["ret-77"]

        # The C example finishes the other till's work with the same lines.
        code, c_stdout = run(c_examples["recover"], sim, ["--wait-ms", "10000"], tmp_path / "c")
        assert code == 0, c_stdout
        assert value_of(c_stdout, "session ", "session_id") == c_session_id
        assert masked(c_stdout) == masked(stdout)

        # Run again: the unanswered create stays listed, nothing else is repeated.
        code, again = run(python_example("recover"), sim, [], tmp_path / "py")
        assert code == 0, again
        assert again.splitlines()[0] == "pending=1" and again.splitlines()[-1] == "remaining=1"
        assert len(sim.get("/_sim/orders/" + order_id)["refunds"]) == 1
    finally:
        sim.close()


def test_the_recover_examples_need_a_journal_and_a_correct_command_line(c_examples):
    sim = Simulator(customer="manual")
    try:
        for command in (python_example("recover"), c_examples["recover"]):
            code, stdout = run(command, sim, [])
            assert code == 1
            assert stdout.startswith("error=KPOS_E_INVALID_ARGUMENT "), stdout
            assert run(command, sim, ["--wait"]) == (1, "")
        outputs = [run(cmd, sim, []) for cmd in (python_example("recover"), c_examples["recover"])]
        assert masked(outputs[0][1]) == masked(outputs[1][1])
    finally:
        sim.close()
