"""The simulator as a test fixture: one cargo build of the library and the simulator per test
run, and simulator processes on free ports with their control endpoints (/_sim/...) as Python
calls. Used by bindings/python/tests and tests/tills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[3]
TEST_USER = "test_user"
TEST_PASSWORD = "test_password"
TEST_USER_AGENT = "klarna-pos-pytest/1.0"


def target_dir() -> Path:
    return ROOT / os.environ.get("CARGO_TARGET_DIR", "target")


def profile_dir() -> Path:
    return target_dir() / "debug"


def library_path() -> Path:
    name = {"win32": "klarna_pos.dll", "darwin": "libklarna_pos.dylib"}.get(
        sys.platform, "libklarna_pos.so"
    )
    return profile_dir() / name


_built = False


def build() -> None:
    """Builds the library and the simulator (debug profile) once per test process."""
    global _built
    if _built:
        return
    for args in (["build", "--lib"], ["build", "-p", "klarna-pos-sim"]):
        subprocess.run(["cargo", *args, "--quiet"], cwd=ROOT, check=True)
    _built = True


class Simulator:
    """A klarna-pos-sim process listening on a free loopback port.

    ``customer`` is ``"manual"`` (the test plays the customer through :meth:`customer`) or
    ``"auto"`` (each session is scanned and approved on its own, ``auto_delay_ms`` after its
    first poll).
    """

    def __init__(self, customer: str = "manual", auto_delay_ms: Optional[int] = None) -> None:
        build()
        args = [
            str(profile_dir() / "klarna-pos-sim"),
            "--listen",
            "127.0.0.1:0",
            "--username",
            TEST_USER,
            "--password",
            TEST_PASSWORD,
            "--customer",
            customer,
            "--exit-on-stdin-eof",  # dies with the test process
        ]
        if auto_delay_ms is not None:
            args += ["--auto-delay-ms", str(auto_delay_ms)]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        first = self.process.stdout.readline() if self.process.stdout else ""
        prefix = "listening on "
        if not first.startswith(prefix):
            self.close()
            raise RuntimeError("the simulator did not start: {!r}".format(first))
        self.url = first[len(prefix) :].strip()

    def env(self, password: str = TEST_PASSWORD) -> Dict[str, str]:
        """The environment of a till talking to this simulator."""
        env = dict(os.environ)
        env.pop("KLARNA_USER_AGENT", None)
        env.update(
            KLARNA_API_URL=self.url,
            KLARNA_USERNAME=TEST_USER,
            KLARNA_PASSWORD=password,
        )
        return env

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        """One control request; returns the HTTP status and the JSON answer."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        return status, json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        status, answer = self.request("GET", path)
        assert status == 200, (path, status, answer)
        return answer

    def stats(self) -> Dict[str, int]:
        return self.get("/_sim/stats")

    def sessions(self) -> List[Dict[str, Any]]:
        return self.get("/_sim/sessions")

    def session(self, session_id: str) -> Dict[str, Any]:
        return self.get("/_sim/sessions/" + session_id)

    def customer(self, session_id: str, action: str, body: Any = None) -> Dict[str, Any]:
        """The customer's side: scan, approve ({"order_id"}), cancel, fail ({"code"}), expire."""
        status, answer = self.request(
            "POST", "/_sim/sessions/{}/{}".format(session_id, action), body or {}
        )
        assert status == 200, (action, status, answer)
        return answer

    def wait_until(self, condition, what: str, timeout: float = 10.0) -> Any:
        """Polls `condition()` (a control-endpoint read) until it is truthy; fails after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting until " + what)
            time.sleep(0.01)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()
