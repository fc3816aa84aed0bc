"""The crash-safe journal from Python: a till process killed with SIGKILL right after creating a
session leaves it in the journal; the next process lists it, resumes it and finishes it."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from klarna_pos import Client, InvalidArgument, Status
from klarna_sim import ROOT, TEST_PASSWORD, TEST_USER

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])

# The till that gets killed: creates a session with the journal on, prints its id, then waits
# for a line on stdin that never comes.
CHILD = """
import json, sys
sys.path.insert(0, {package!r})
import klarna_pos
client = klarna_pos.Client.from_env()
session = client.create_session(json.loads(open({order!r}, encoding="utf-8").read()))
print("session_id=" + session.id, flush=True)
sys.stdin.readline()
"""


def journal_client(sim, directory) -> Client:
    return Client(
        api_url=sim.url,
        username=TEST_USER,
        password=TEST_PASSWORD,
        poll_interval_ms=100,
        journal_dir=str(directory),
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_session_of_a_killed_till_is_listed_resumed_and_finished(sim, tmp_path):
    journal = tmp_path / "journal"
    order = ROOT / "examples/orders/se_coffee.json"
    env = dict(sim.env(), KLARNA_JOURNAL_DIR=str(journal))
    till = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(package=PACKAGE_DIR, order=str(order))],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = till.stdout.readline()
        assert line.startswith("session_id="), line
        session_id = line.strip().split("=", 1)[1]
    finally:
        os.kill(till.pid, signal.SIGKILL)  # no destructor, no flush, no goodbye
        till.wait()
        till.stdin.close()
        till.stdout.close()
    assert till.returncode == -signal.SIGKILL

    with journal_client(sim, journal) as client:
        pending = client.journal_pending()
        assert len(pending) == 1, pending
        record = pending[0]
        assert record["kind"] == "session"
        assert record["session_id"] == session_id
        assert record["order_amount"] == 32400
        assert (
            record["merchant_reference1"]
            == json.loads(order.read_text("utf-8"))["merchant_reference1"]
        )
        assert record["created_at"].endswith("Z")

        with client.resume_session(record["session_id"], record["result_url"]) as session:
            sim.customer(session_id, "approve", {"order_id": "ORDER-PY-RECOVERED"})
            status = session.status
            while not status.is_terminal:
                status = session.wait(timeout=10)
            assert status is Status.COMPLETED
            assert session.order_id == "ORDER-PY-RECOVERED"
        assert client.journal_pending() == []

    # A process started later agrees.
    with journal_client(sim, journal) as later:
        assert later.journal_pending() == []


def test_the_journal_dir_comes_from_the_environment_too(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("KLARNA_API_URL", sim.url)
    monkeypatch.setenv("KLARNA_USERNAME", TEST_USER)
    monkeypatch.setenv("KLARNA_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("KLARNA_JOURNAL_DIR", str(tmp_path / "env-journal"))
    with Client.from_env() as client:
        assert client.journal_pending() == []
    assert (tmp_path / "env-journal").is_dir()


def test_an_unusable_journal_dir_is_refused_naming_the_key(sim, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(InvalidArgument) as e:
        journal_client(sim, blocker / "journal")
    assert e.value.field == "journal_dir"
