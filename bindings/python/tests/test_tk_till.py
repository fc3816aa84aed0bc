"""examples/python/tk_till.py, the event-driven Tk till, on a virtual display (xvfb-run) against
the simulator: the statuses reach the window through the listener, in order and in the language
asked for; its deadline cancels through the same path."""

import shutil
import subprocess
import sys

import pytest

from klarna_sim import ROOT, Simulator

TILL = [sys.executable, str(ROOT / "examples/python/tk_till.py")]
ORDER = str(ROOT / "examples/orders/se_coffee.json")


def run_till(sim: Simulator, args):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (tests/run installs it)")
    done = subprocess.run(
        ["xvfb-run", "--auto-servernum", *TILL, ORDER, "--close-when-done", *args],
        env=sim.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_tk_till_follows_a_payment_in_the_cashiers_language():
    sim = Simulator(customer="auto", auto_delay_ms=4000)
    try:
        code, out, err = run_till(sim, ["--language", "fi"])
    finally:
        sim.close()
    statuses = [line for line in out.splitlines() if line.startswith("status=")]
    assert statuses == ["status=DISTRIBUTED", "status=ACCESSED", "status=COMPLETED"], out + err
    assert "display=Maksu on valmis" in out.splitlines()
    assert "customer=Maksu hyväksytty. Kiitos!" in out.splitlines()
    assert out.splitlines()[-1].startswith("order_id=")
    assert code == 0, out + err


def test_the_tk_tills_deadline_cancels_and_the_window_hears_it():
    sim = Simulator(customer="manual")
    try:
        code, out, err = run_till(sim, ["--timeout-ms", "500"])
    finally:
        sim.close()
    assert out.splitlines()[-3:] == [
        "status=CANCELED",
        "display=Payment is canceled",
        "customer=The payment was canceled",
    ], out + err
    assert code == 2, out + err
