"""examples/python/tk_till.py, the event-driven Tk till, on a virtual display (Xvfb) against
the simulator: the statuses reach the window through the listener, in order and in the language
asked for; its deadline cancels through the same path."""

import os
import shutil
import subprocess
import sys

import pytest

from klarna_sim import ROOT, Simulator

TILL = [sys.executable, str(ROOT / "examples/python/tk_till.py")]
ORDER = str(ROOT / "examples/orders/se_coffee.json")


@pytest.fixture(scope="module")
def display():
    """A private virtual display: Xvfb picks a free display number and reports it through a
    pipe (-displayfd), so nothing is guessed and no wrapper script has to clean up after it."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (tests/run installs xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1024x768x24"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not announce a display")
    yield ":" + number
    server.terminate()
    server.wait(timeout=30)


def run_till(sim: Simulator, display: str, args):
    env = dict(sim.env())
    env["DISPLAY"] = display
    done = subprocess.run(
        [*TILL, ORDER, "--close-when-done", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_tk_till_follows_a_payment_in_the_cashiers_language(display):
    sim = Simulator(customer="auto", auto_delay_ms=4000)
    try:
        code, out, err = run_till(sim, display, ["--language", "fi"])
    finally:
        sim.close()
    statuses = [line for line in out.splitlines() if line.startswith("status=")]
    assert statuses == ["status=DISTRIBUTED", "status=ACCESSED", "status=COMPLETED"], out + err
    assert "display=Maksu on valmis" in out.splitlines()
    assert "customer=Maksu hyväksytty. Kiitos!" in out.splitlines()
    assert out.splitlines()[-1].startswith("order_id=")
    assert code == 0, out + err


def test_the_tk_tills_deadline_cancels_and_the_window_hears_it(display):
    sim = Simulator(customer="manual")
    try:
        code, out, err = run_till(sim, display, ["--timeout-ms", "500"])
    finally:
        sim.close()
    assert out.splitlines()[-3:] == [
        "status=CANCELED",
        "display=Payment is canceled",
        "customer=The payment was canceled",
    ], out + err
    assert code == 2, out + err
