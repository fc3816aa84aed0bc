"""Run by test_install.py with the interpreter of a fresh virtual environment into which the
package was installed with pip, from a directory outside the checkout: it proves that the
installed package alone (its own copy of the library, no checkout on sys.path) takes a payment
and raises the documented exceptions.

    python installed_scenario.py SIMULATOR_URL USERNAME PASSWORD ORDER.json INVALID_ORDERS.json

Prints one `ok - <check>` line per check and exits 0, or raises.
"""

import json
import sys
import threading
import time
import urllib.request
from pathlib import Path

import klarna_pos
from klarna_pos import BadRequest, Cancelled, Client, PermissionDenied, Status, Timeout

url, username, password, order_path, invalid_path = sys.argv[1:6]
order = json.loads(Path(order_path).read_text("utf-8"))
invalid = json.loads(Path(invalid_path).read_text("utf-8"))[0]


def sim(method, path, body=None):
    """A request to the simulator's control endpoints (the customer's side)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def ok(check):
    print("ok - " + check, flush=True)


loaded = Path(klarna_pos._native.lib._name).resolve()
assert loaded.parent == Path(klarna_pos.__file__).resolve().parent, loaded
assert (loaded.parent / "py.typed").is_file()
ok("library loaded from the installed package: " + str(loaded))

client = Client(api_url=url, username=username, password=password, poll_interval_ms=100)

with client.create_session(order) as session:
    assert session.poll() is Status.DISTRIBUTED and session.qr_url
    sim("POST", "/_sim/sessions/{}/scan".format(session.id), {})
    assert session.wait(timeout=10) is Status.ACCESSED
    sim("POST", "/_sim/sessions/{}/approve".format(session.id), {"order_id": "ORDER-VENV-1"})
    assert session.wait(timeout=10) is Status.COMPLETED
    assert session.order_id == "ORDER-VENV-1"
ok("full payment")

try:
    client.create_session(invalid["order"])
    raise AssertionError("no BadRequest")
except BadRequest as e:
    assert e.field == invalid["field"], e.field
ok("BadRequest with field " + invalid["field"])

try:
    with Client(api_url=url, username=username, password="wrong") as wrong:
        wrong.create_session(order)
    raise AssertionError("no PermissionDenied")
except PermissionDenied as e:
    assert e.http_status == 401 and e.correlation_id
ok("PermissionDenied")

with client.create_session(order) as session:
    session.poll()
    try:
        session.wait(timeout=0.3)
        raise AssertionError("no Timeout")
    except Timeout as e:
        assert e.status is Status.DISTRIBUTED
ok("Timeout")

with client.create_session(order) as session:
    session.poll()
    polls = sim("GET", "/_sim/sessions/" + session.id)["polls"]

    def cancel_once_waiting():
        deadline = time.monotonic() + 10
        while sim("GET", "/_sim/sessions/" + session.id)["polls"] == polls:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        session.cancel()

    canceller = threading.Thread(target=cancel_once_waiting)
    canceller.start()
    try:
        session.wait(timeout=10)
        raise AssertionError("no Cancelled")
    except Cancelled:
        pass
    canceller.join()
    assert session.status is Status.CANCELED
ok("cancel from a second thread")
client.close()
