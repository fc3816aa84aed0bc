"""The log callback under a hostile till: replaced again and again while threads poll, and an
interpreter that exits while daemon threads still poll with a callback installed.

Each scenario runs in its own interpreter, so a crash (SIGSEGV, abort) is seen as its exit
status instead of taking the test run down.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from klarna_sim import TEST_PASSWORD, TEST_USER

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def run_scenario(sim, code):
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, SIM_URL=sim.url)
    prologue = textwrap.dedent(
        f"""
        import os, threading, time
        import klarna_pos
        from klarna_pos import LogLevel, set_log_callback
        client = klarna_pos.Client(api_url=os.environ["SIM_URL"], username={TEST_USER!r},
                                   password={TEST_PASSWORD!r}, poll_interval_ms=100)
        order = {{"purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE",
                  "order_amount": 100, "order_tax_amount": 0,
                  "order_lines": [{{"type": "physical", "reference": "x", "name": "x",
                                   "quantity": 1, "unit_price": 100, "tax_rate": 0,
                                   "total_amount": 100, "total_tax_amount": 0}}]}}
        session = client.create_session(order)

        def poll_forever():
            while True:
                try:
                    session.poll()
                except Exception:
                    pass
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(done.stdout)
    print(done.stderr)
    return done


def test_replacing_the_callback_while_threads_poll_never_crashes(sim):
    done = run_scenario(
        sim,
        """
        import gc
        seen = []
        for _ in range(8):
            threading.Thread(target=poll_forever, daemon=True).start()

        def slow(level, text):
            seen.append(text)
            time.sleep(0.002)  # still running when the next replacement comes

        for i in range(300):
            set_log_callback(slow, LogLevel.DEBUG)
            time.sleep(0.001)
            set_log_callback(None)
            gc.collect()  # the replaced thunk is released now, unless something keeps it
        print("replacements done, lines seen:", len(seen))
        """,
    )
    assert done.returncode == 0, f"exit status {done.returncode}"
    assert "replacements done" in done.stdout


def test_exit_with_daemon_threads_polling_under_a_callback_is_clean(sim):
    done = run_scenario(
        sim,
        """
        lines = []
        set_log_callback(lambda level, text: lines.append(text), LogLevel.DEBUG)
        for _ in range(8):
            threading.Thread(target=poll_forever, daemon=True).start()
        while len(lines) < 50:  # the threads are logging; the exit is what is tested
            time.sleep(0.01)
        print("exiting with", len(lines), "lines logged")
        """,
    )
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-2000:]}"
    assert "exiting with" in done.stdout
    assert "Fatal" not in done.stderr and "panicked" not in done.stderr
