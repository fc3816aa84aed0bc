"""Operating the package in a shop: the health check (``Client.check``) and the library's log
reaching the standard ``logging`` logger ``klarna_pos`` with no set-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

from klarna_pos import Client
from klarna_sim import TEST_PASSWORD, TEST_USER

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def test_check_passes_with_right_credentials_and_names_wrong_ones(sim):
    report = Client(api_url=sim.url, username=TEST_USER, password=TEST_PASSWORD).check()
    assert report["ok"] is True and report["code"] == 0
    assert [s["verdict"] for s in report["steps"] if s["step"] == "credentials"] == ["ok"]
    wrong = Client(api_url=sim.url, username=TEST_USER, password="not-the-password").check()
    assert wrong["ok"] is False
    assert wrong["code_name"] == "KPOS_E_PERMISSION_DENIED"
    failed = [s for s in wrong["steps"] if s["verdict"] == "failed"]
    assert failed[0]["step"] == "credentials" and failed[0]["action"]
    assert sim.stats()["sessions_created"] == 0


# Run in a child process: the library's log callback is process-wide.
CHILD = """
import json, logging, sys
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append([record.name, record.levelname, record.getMessage()])
logging.getLogger("klarna_pos").addHandler(Keep())
logging.getLogger("klarna_pos").setLevel(sys.argv[2])
import klarna_pos
klarna_pos.Client(api_url=sys.argv[1], username="{user}", password="{password}").check()
print(json.dumps(records))
"""


def run_child(url, level):
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR)
    env.pop("KLARNA_POS_LOG", None)
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(user=TEST_USER, password=TEST_PASSWORD), url, level],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_log_reaches_the_klarna_pos_logger_without_set_up(sim):
    records = run_child(sim.url, "DEBUG")
    assert all(name == "klarna_pos" for name, _, _ in records)
    messages = [m for _, _, m in records]
    assert any(m.startswith("client for " + sim.url) for m in messages), messages
    assert [lv for _, lv, m in records if m.startswith("no proxy")] == ["DEBUG"]
    assert not any(TEST_PASSWORD in m for m in messages)
    # At the default level (WARNING) an untroubled check logs nothing.
    assert run_child(sim.url, "WARNING") == []

