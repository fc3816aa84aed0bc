"""Webhooks across processes with ``webhook_secret``: examples/python/webhook_relay.py run as a
receiver process that holds only the chain's secret and as a till process, against the
simulator, which calls the receiver back over real sockets. The receiver verifies each callback
(without any session) and relays it; the till applies it and sees COMPLETED, confirmed by one
status read. Forged tokens and tokens made with another secret are refused; during a rotation a
receiver with the new secret and the old one as ``webhook_secret_previous`` accepts callbacks
made under the old one. Both processes run with the library's debug log, which must hold
neither the secret nor a token."""

import json
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, List, Optional

import pytest

from klarna_pos import Client, Status
from klarna_sim import ROOT, TEST_PASSWORD, TEST_USER

EXAMPLE = ROOT / "examples/python/webhook_relay.py"
ORDER = ROOT / "examples/orders/se_coffee.json"
# As `openssl rand -hex 32` and `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`
# make them.
SECRET = "8d5e0c1a7f3b92e4c6a1d0f5b3e7c9a2d4f6081b3c5e7a9d1f2b4c6e8a0d2f4b"
NEW_SECRET = "Jx3Wq0vN8bYt2Lr6Hc9Pz1Ks4Fd7Mg5Ua0Ei3Ow6Sy8"
OTHER_SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"


class Process:
    """A process of the example whose stdout lines are read as they come."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLE)] + args + ["--verbose"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []
        # Per prefix, how many of the seen lines were looked at: lines of two threads (the
        # relay's and the status loop's) interleave in any order.
        self.cursor: Dict[str, int] = {}
        self.log: List[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def expect(self, prefix: str) -> str:
        """The next line starting with ``prefix`` after the one this returned last for it;
        bounded."""
        while True:
            start = self.cursor.get(prefix, 0)
            for i in range(start, len(self.seen)):
                if self.seen[i].startswith(prefix):
                    self.cursor[prefix] = i + 1
                    return self.seen[i][len(prefix) :]
            self.cursor[prefix] = len(self.seen)
            try:
                line = self.lines.get(timeout=30)
            except queue.Empty:
                line = "(nothing for 30 s)"
            if line is None or line == "(nothing for 30 s)":
                raise AssertionError(
                    "no {!r} line: {}; saw {}; log: {}".format(
                        prefix, line, self.seen, "".join(self.log)[-3000:]
                    )
                )
            self.seen.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=30)


def chain_env(sim, secret: str, previous: Optional[str] = None) -> Dict[str, str]:
    env = sim.env()
    env.pop("KLARNA_POS_LOG", None)
    env["KLARNA_WEBHOOK_SECRET"] = secret
    env.pop("KLARNA_WEBHOOK_SECRET_PREVIOUS", None)
    if previous is not None:
        env["KLARNA_WEBHOOK_SECRET_PREVIOUS"] = previous
    return env


@pytest.fixture
def processes():
    started: List[Process] = []

    def start(args: List[str], env: Dict[str, str]) -> Process:
        p = Process(args, env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def receiver(start, sim, secret: str, previous: Optional[str] = None) -> "tuple[Process, str]":
    p = start(["receiver", "--listen", "127.0.0.1:0"], chain_env(sim, secret, previous))
    return p, p.expect("listening=")


def post(url: str, body: str) -> int:
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def with_token(url: str, token: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, token if k == "kpos_token" else v) for k, v in query]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def token_of(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["kpos_token"][0]


def test_a_receiver_with_only_the_secret_verifies_and_the_till_applies_relayed_callbacks(
    sim, processes
):
    central, url = receiver(processes, sim, SECRET)
    till = processes(
        ["till", str(ORDER), "--receiver", url, "--till", "till-7", "--timeout-ms", "60000"],
        chain_env(sim, SECRET),
    )
    session_id = till.expect("session_id=")
    assert central.expect("verified ") == "till=till-7 session_id={} status=DISTRIBUTED".format(
        session_id
    )
    assert till.expect("relayed=") == session_id + " DISTRIBUTED"
    assert till.expect("status=") == "DISTRIBUTED"
    sim.customer(session_id, "scan")
    assert central.expect("verified ").endswith(" status=ACCESSED")
    assert till.expect("status=") == "ACCESSED"
    assert sim.session(session_id)["polls"] == 0, "the till learned it from the relay"

    sim.customer(session_id, "approve", {"order_id": "ORDER-RELAYED"})
    # The receiver reports the claim; the till confirms it with Klarna before believing it.
    assert central.expect("verified ").endswith(" status=COMPLETED")
    assert till.expect("status=") == "COMPLETED"
    assert till.expect("order_id=") == "ORDER-RELAYED"
    assert till.proc.wait(timeout=30) == 0
    assert sim.session(session_id)["polls"] == 1, "one status read confirmed COMPLETED"
    session = sim.session(session_id)
    assert [w["status"] for w in session["webhooks"]] == ["DISTRIBUTED", "ACCESSED", "COMPLETED"]
    callback = session["callback_url"]
    assert callback.startswith(url + "/klarna/status?till=till-7&kpos_ref=")
    # A status payload as Klarna sends it (the simulator's own bodies went to the receiver).
    genuine_body = json.dumps({"session_id": session_id, "status": "COMPLETED"})

    # Forged, altered and truncated tokens: refused by the receiver process, nothing relayed.
    token = token_of(callback)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for forged in (flipped, token[:-1], "A" * 43, ""):
        assert post(with_token(callback, forged), genuine_body) == 403, forged
        assert central.expect("refused=") == "403 KPOS_E_PERMISSION_DENIED"

    # A till configured with another secret: the simulator's callbacks for its session are
    # refused by the receiver (Klarna is told 403).
    with Client(
        api_url=sim.url,
        username=TEST_USER,
        password=TEST_PASSWORD,
        webhook_url=url + "/klarna/status?till=rogue",
        webhook_secret=OTHER_SECRET,
    ) as rogue:
        with rogue.create_session(ORDER.read_text("utf-8")) as other:
            assert central.expect("refused=") == "403 KPOS_E_PERMISSION_DENIED"
            other_callback = sim.session(other.id)["callback_url"]
            assert sim.wait_until(
                lambda: sim.session(other.id)["webhooks"][0].get("last_result"),
                "the simulator's delivery was answered",
            )
    # That session's token with this session's reference: refused too.
    assert post(with_token(callback, token_of(other_callback)), genuine_body) == 403
    central.expect("refused=")

    # Rotation: a receiver with a new secret and the old one as previous accepts the callback
    # made under the old one; with the new secret alone it is refused.
    rotated, rotated_url = receiver(processes, sim, NEW_SECRET, previous=SECRET)
    target = callback[len(url) :]
    assert post(rotated_url + target, genuine_body) == 200
    assert rotated.expect("verified ") == "till=till-7 session_id={} status=COMPLETED".format(
        session_id
    )
    renewed, renewed_url = receiver(processes, sim, NEW_SECRET)
    assert post(renewed_url + target, genuine_body) == 403
    assert renewed.expect("refused=") == "403 KPOS_E_PERMISSION_DENIED"

    # The debug logs of every process hold neither a secret nor a token.
    for p in (central, till, rotated, renewed):
        p.stop()
        log = "".join(p.log)
        assert "session {}".format(session_id) in log or p is not till, log[-2000:]
        for secret in (SECRET, NEW_SECRET, OTHER_SECRET, token, flipped):
            assert secret not in log, "a secret or token in the log"
        assert "kpos_token" not in log


def test_the_receiver_refuses_a_secret_that_is_too_short(sim):
    env = chain_env(sim, SECRET[:62])
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "receiver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "webhook_secret" in done.stderr and "holds 31" in done.stderr
    assert SECRET[:62] not in done.stderr


def test_a_resumed_session_of_a_restarted_till_takes_callbacks_verified_elsewhere(sim, order):
    config = dict(
        api_url=sim.url,
        username=TEST_USER,
        password=TEST_PASSWORD,
        webhook_url="http://127.0.0.1:9/klarna/status?till=t1",
        webhook_secret=SECRET,
    )
    with Client(**config) as before:
        created = before.create_session(order)
        session_id, result_url = created.id, created.result_url
        created.close()
    sim.customer(session_id, "approve", {"order_id": "ORDER-RESUMED"})
    body = json.dumps({"session_id": session_id, "status": "COMPLETED"})
    callback = sim.session(session_id)["callback_url"]
    with Client(webhook_secret=SECRET, api_url=sim.url, username=TEST_USER) as central:
        result = central.verify_webhook(callback, body)
        assert result == (session_id, Status.COMPLETED)
    assert sim.session(session_id)["polls"] == 0
    with Client(**config) as after:
        with after.resume_session(session_id, result_url) as resumed:
            assert after.verify_webhook(callback, body) == (
                session_id,
                Status.COMPLETED,
            )
            assert resumed.status is Status.COMPLETED
            assert resumed.order_id == "ORDER-RESUMED"
    assert sim.session(session_id)["polls"] == 1
