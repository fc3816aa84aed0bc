"""The klarna_pos Python package against the simulator: the payment flow, every exception class
the C ABI can produce with its attributes, and the package's agreement with the C header."""

import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import klarna_pos
from klarna_pos import (
    BadRequest,
    Cancelled,
    Client,
    Conflict,
    InternalError,
    InvalidArgument,
    KlarnaError,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    Status,
    Timeout,
    TlsError,
    Unknown,
)
from klarna_pos._native import lib
from klarna_pos.errors import check, error_class
from klarna_sim import (
    ROOT,
    TEST_PASSWORD,
    TEST_USER,
    TEST_USER_AGENT,
    library_path,
    target_dir,
)

HEADER = (ROOT / "include/klarna_pos.h").read_text()
INVALID_ORDERS = json.loads((ROOT / "tests/data/invalid_orders.json").read_text("utf-8"))


def header_defines(prefix):
    """{"NAME": number} for every `#define <prefix>NAME <number>` of the C header."""
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^#define {}(\w+) (\d+)$".format(prefix), HEADER, re.M)
    }


# ---- the payment flow --------------------------------------------------------------------


def test_full_payment_flow(sim, client, order):
    with client.create_session(order) as session:
        assert session.id and session.result_url.startswith(sim.url)
        assert session.status is Status.CREATED
        assert session.qr_url is None and session.order_id is None

        assert session.poll() is Status.DISTRIBUTED
        assert session.id in session.qr_url
        assert session.id in session.payment_link
        assert session.failure is None

        sim.customer(session.id, "scan")
        assert session.wait(timeout=10) is Status.ACCESSED
        sim.customer(session.id, "approve", {"order_id": "ORDER-PY-0001"})
        assert session.wait(timeout=10) is Status.COMPLETED
        assert session.status is Status.COMPLETED and session.status.is_terminal
        assert session.order_id == "ORDER-PY-0001"

    # Closed: the outcome stays readable, the network calls are refused.
    assert session.status is Status.COMPLETED
    assert session.order_id == "ORDER-PY-0001"
    with pytest.raises(InvalidArgument):
        session.poll()


def test_order_reaches_klarna_as_utf8_with_the_tills_user_agent(sim, client, order):
    with client.create_session(order) as session:
        recorded = sim.session(session.id)
    sent = json.loads(recorded["request_body"])
    assert sent["order_lines"][0]["name"] == "Kaffebönor Mellanrost 500 g"
    assert sent["acquiring_channel"] == "in_store"
    assert TEST_USER_AGENT in recorded["user_agent"]


@pytest.mark.parametrize("form", ["str", "bytes"])
def test_order_may_be_given_as_json_text(sim, client, order, form):
    text = json.dumps(order, ensure_ascii=False)
    with client.create_session(text if form == "str" else text.encode("utf-8")) as session:
        assert session.poll() is Status.DISTRIBUTED


def test_resumed_session_reads_the_same_payment(sim, client, order):
    with client.create_session(order) as session:
        session.poll()
        sim.customer(session.id, "approve", {"order_id": "ORDER-PY-0002"})
        with client.resume_session(session.id, session.result_url) as resumed:
            assert resumed.id == session.id
            assert resumed.status is Status.CREATED
            assert resumed.poll() is Status.COMPLETED
            assert resumed.order_id == "ORDER-PY-0002"


def test_session_outlives_its_closed_client(make_client, order):
    client = make_client()
    session = client.create_session(order)
    client.close()
    with pytest.raises(InvalidArgument):
        client.create_session(order)
    assert session.poll() is Status.DISTRIBUTED
    session.close()


def test_failure_reports_the_distribution_error_without_raising(sim, client, order):
    for klarna_code, cls in [("PERMISSION_DENIED", PermissionDenied), ("INTERNAL_ERROR", Unknown)]:
        with client.create_session(order) as session:
            session.poll()
            sim.customer(session.id, "fail", {"code": klarna_code})
            assert session.wait(timeout=10) is Status.FAILED
            failure = session.failure
            assert isinstance(failure, cls)
            assert failure.klarna_error_code == klarna_code
        assert isinstance(session.failure, cls)  # kept after close


def test_from_env_reads_the_klarna_variables(sim, order, monkeypatch):
    monkeypatch.setenv("KLARNA_API_URL", sim.url)
    monkeypatch.setenv("KLARNA_USERNAME", TEST_USER)
    monkeypatch.setenv("KLARNA_PASSWORD", TEST_PASSWORD)
    with Client.from_env() as client, client.create_session(order) as session:
        assert session.poll() is Status.DISTRIBUTED
    monkeypatch.delenv("KLARNA_API_URL")
    with pytest.raises(InvalidArgument) as e:
        Client.from_env()
    assert e.value.field == "api_url"


# ---- every exception class the ABI can raise today ----------------------------------------


@pytest.mark.parametrize("case", INVALID_ORDERS, ids=[c["name"] for c in INVALID_ORDERS])
def test_bad_request_names_the_offending_field(client, case):
    with pytest.raises(BadRequest) as e:
        client.create_session(case["order"])
    error = e.value
    assert isinstance(error, KlarnaError)
    assert (error.code, error.name, error.action) == (10, "KPOS_E_BAD_REQUEST", 1)
    assert error.field == case["field"]
    assert case["field"] in error.message
    assert error.http_status is None and error.correlation_id is None


def test_bad_request_message_keeps_non_ascii_text(client, order):
    order["purchase_currency"] = "KRÖ"
    with pytest.raises(BadRequest) as e:
        client.create_session(order)
    assert e.value.field == "purchase_currency"
    assert "KRÖ" in e.value.message


def test_nothing_is_sent_for_a_refused_order(sim, client):
    with pytest.raises(BadRequest):
        client.create_session(INVALID_ORDERS[0]["order"])
    assert sim.stats()["create_requests"] == 0


def test_wrong_password_is_permission_denied(make_client, order):
    with make_client(password="not-the-password") as client:
        with pytest.raises(PermissionDenied) as e:
            client.create_session(order)
    error = e.value
    assert (error.code, error.name, error.action) == (11, "KPOS_E_PERMISSION_DENIED", 3)
    assert error.http_status == 401
    assert error.correlation_id
    assert error.correlation_id in str(error)
    assert error.field is None


def test_wait_without_change_raises_timeout_with_the_status(client, order):
    with client.create_session(order) as session:
        session.poll()
        started = time.monotonic()
        with pytest.raises(Timeout) as e:
            session.wait(timeout=0.3)
        assert time.monotonic() - started >= 0.29  # not before its timeout
    assert (e.value.code, e.value.name) == (30, "KPOS_E_TIMEOUT")
    assert e.value.status is Status.DISTRIBUTED


def test_cancel_from_another_thread_releases_wait_with_cancelled(sim, client, order):
    with client.create_session(order) as session:
        session.poll()
        polls_before = sim.session(session.id)["polls"]
        cancelled_at = []

        def cancel_once_waiting():
            # The wait is blocked once its first status request reached the simulator.
            sim.wait_until(lambda: sim.session(session.id)["polls"] > polls_before, "wait polls")
            cancelled_at.append(time.monotonic())
            session.cancel()

        canceller = threading.Thread(target=cancel_once_waiting)
        canceller.start()
        with pytest.raises(Cancelled) as e:
            session.wait(timeout=10)
        released_at = time.monotonic()
        canceller.join()

        assert (e.value.code, e.value.name, e.value.action) == (50, "KPOS_E_CANCELLED", 0)
        assert released_at - cancelled_at[0] < 2
        assert session.status is Status.CANCELED
        assert sim.session(session.id)["status"] == "CANCELED"


def test_cancel_after_completion_raises_conflict(sim, client, order):
    with client.create_session(order) as session:
        session.poll()
        sim.customer(session.id, "approve")
        assert session.wait(timeout=10) is Status.COMPLETED
        with pytest.raises(Conflict) as e:
            session.cancel()
        assert e.value.code == 14
        assert session.status is Status.COMPLETED


def test_unknown_session_is_not_found(sim, client):
    url = sim.url + "/instore/v1/distributions/no-such-session?dt=x"
    with client.resume_session("no-such-session", url) as session:
        with pytest.raises(NotFound) as e:
            session.poll()
    assert (e.value.code, e.value.http_status) == (13, 404)


@pytest.mark.parametrize(
    "config, field",
    [
        ({"usernme": "u"}, "usernme"),
        ({"username": "u", "request_timeout_ms": 0}, "request_timeout_ms"),
        ({"username": "u", "poll_interval_ms": "fast"}, "poll_interval_ms"),
        ({"username": ""}, "username"),
    ],
)
def test_bad_configuration_is_invalid_argument_naming_the_key(sim, config, field):
    with pytest.raises(InvalidArgument) as e:
        Client(api_url=sim.url, **config)
    error = e.value
    assert (error.code, error.name, error.action) == (1, "KPOS_E_INVALID_ARGUMENT", 4)
    assert error.field == field


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(InvalidArgument) as e:
        Client(api_url="http://shop.example", username="u", password="p")
    assert e.value.field == "api_url"


@pytest.mark.parametrize(
    "order",
    [
        "purchase_country=SE",
        "[1, 2]",
        b'{"locale": "\xc0\xaf"}',
        '{"a": 1}\0{"b": 2}',
        "[" * 100_000 + "]" * 100_000,
        {"order_amount": float("nan")},
    ],
    ids=["not_json", "not_an_object", "invalid_utf8", "embedded_nul", "deep", "nan"],
)
def test_unreadable_order_is_invalid_argument(client, order):
    with pytest.raises(InvalidArgument):
        client.create_session(order)


def test_wait_needs_a_non_negative_timeout(client, order):
    with client.create_session(order) as session:
        with pytest.raises(InvalidArgument):
            session.wait(timeout=-1)


@pytest.mark.parametrize(
    "fault, cls",
    [
        ({"mode": "rate_limit", "retry_after": 0}, RateLimited),
        ({"mode": "status_500"}, Unknown),
        ({"mode": "reset"}, NetworkError),
        ({"mode": "malformed_json"}, ProtocolError),
    ],
    ids=["rate_limited", "unknown", "network", "protocol"],
)
def test_failures_of_klarnas_side_raise_their_class(sim, client, order, fault, cls):
    # Enough faulted answers for every retry the library makes.
    status, _ = sim.request("POST", "/_sim/faults", dict(fault, count=50))
    assert status == 200
    with pytest.raises(cls) as e:
        client.create_session(order)
    assert type(e.value) is cls and e.value.code == cls.code
    assert e.value.name == lib.kpos_result_name(cls.code).decode()
    assert e.value.message
    assert e.value.retry_after_ms is None


def test_a_creation_at_the_rate_limit_says_how_long_to_wait(sim, client, order):
    status, _ = sim.request(
        "POST", "/_sim/faults", {"mode": "rate_limit", "retry_after": 2, "count": 1}
    )
    assert status == 200
    with pytest.raises(RateLimited) as e:
        client.create_session(order)
    assert e.value.retry_after_ms == 2000
    assert e.value.http_status == 429


def test_request_without_answer_in_time_raises_timeout(sim, make_client, order):
    with Client(
        api_url=sim.url, username=TEST_USER, password=TEST_PASSWORD, request_timeout_ms=300
    ) as client:
        sim.request("POST", "/_sim/faults", {"mode": "stall", "stall_ms": 3000, "count": 50})
        with pytest.raises(Timeout) as e:
            client.create_session(order)
    assert e.value.code == 30 and e.value.status is None


def test_https_to_a_plain_http_server_is_a_tls_error(sim, order):
    with Client(
        api_url=sim.url.replace("http://", "https://"),
        username=TEST_USER,
        password=TEST_PASSWORD,
    ) as client:
        with pytest.raises(TlsError) as e:
            client.create_session(order)
    assert (e.value.code, e.value.name) == (32, "KPOS_E_TLS")


def test_internal_error_is_raised_for_the_librarys_own_bug_code():
    # Only a test build of the library can panic on purpose (tests/panic_boundary.rs); the
    # wrapper's side is the mapping of the code to the class.
    with pytest.raises(InternalError) as e:
        check(90)
    assert (e.value.code, e.value.name, e.value.action) == (90, "KPOS_E_INTERNAL", 4)


def test_client_is_shared_by_threads_each_with_its_own_errors(sim, client, order):
    """The client is thread-safe and the last error is per thread: every thread gets its own
    session and its own exception detail."""
    results = {}

    def till(number):
        try:
            with client.create_session(order) as session:
                sim.customer(session.id, "approve", {"order_id": "ORDER-T{}".format(number)})
                session.poll()
                bad = dict(order, order_amount=order["order_amount"] + number + 1)
                try:
                    client.create_session(bad)
                except BadRequest as e:
                    results[number] = (session.order_id, e.field)
        except Exception as e:  # reported by the assertion below
            results[number] = e

    threads = [threading.Thread(target=till, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: ("ORDER-T{}".format(n), "order_amount") for n in range(8)}


# ---- resources -----------------------------------------------------------------------------


def test_sessions_are_freed_on_close_and_on_garbage_collection(client, order):
    closed = client.create_session(order)
    handle = closed._handle
    assert lib.kpos_session_status(handle) == Status.CREATED
    closed.close()
    closed.close()  # idempotent
    assert lib.kpos_session_status(handle) == Status.UNKNOWN  # the library no longer knows it

    dropped = client.create_session(order)
    handle = dropped._handle
    del dropped
    gc.collect()
    assert lib.kpos_session_status(handle) == Status.UNKNOWN


def resident_bytes():
    """This process's resident set size, from /proc/self/statm (in pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_ten_thousand_sessions_created_and_dropped_do_not_grow_memory(client, order, capsys):
    """A leak check, not a benchmark: a till runs for weeks. Every session is created at the
    simulator and dropped, half closed by `with`, half left to the garbage collector."""

    def create_and_drop(count):
        for n in range(count):
            if n % 2:
                with client.create_session(order) as session:
                    assert session.id
            else:
                session = client.create_session(order)
                assert session.id
                del session
        gc.collect()

    create_and_drop(1000)  # warm-up: allocator pools, connection, caches
    before = resident_bytes()
    create_and_drop(10_000)
    after = resident_bytes()
    growth_mb = (after - before) / 2**20
    with capsys.disabled():  # shown in the test run's output, not only on failure
        print(
            "\nRSS before {:.1f} MB, after 10000 sessions {:.1f} MB, growth {:.2f} MB".format(
                before / 2**20, after / 2**20, growth_mb
            )
        )
    # A leak of the order (about 1 KB) per session would add 10 MB.
    assert growth_mb < 8


def test_log_callback_receives_lines_without_credentials(client, order):
    lines = []
    klarna_pos.set_log_callback(
        lambda level, text: lines.append((level, text)), klarna_pos.LogLevel.DEBUG
    )
    try:
        with client.create_session(order) as session:
            session.poll()
    finally:
        klarna_pos.set_log_callback(None)
    assert lines and all(isinstance(level, klarna_pos.LogLevel) for level, _ in lines)
    assert not any(TEST_PASSWORD in text for _, text in lines)
    count = len(lines)
    with client.create_session(order):
        pass
    assert len(lines) == count  # removed
    with pytest.raises(InvalidArgument):
        klarna_pos.set_log_callback(print, 9)


# ---- agreement with the C header -----------------------------------------------------------


def test_status_values_equal_the_headers_numbers():
    defined = header_defines("KPOS_STATUS_")
    assert {s.name: s.value for s in Status} == defined
    assert Status(1234) is Status.UNKNOWN  # a newer library's status is UNKNOWN, not an error
    assert [s.name for s in Status if s.is_terminal] == [
        "COMPLETED",
        "CANCELED",
        "FAILED",
        "EXPIRED",
    ]


def test_every_error_code_of_the_header_has_its_exception_class():
    expected = {
        "INVALID_ARGUMENT": "InvalidArgument",
        "BAD_REQUEST": "BadRequest",
        "PERMISSION_DENIED": "PermissionDenied",
        "UNKNOWN": "Unknown",
        "NOT_FOUND": "NotFound",
        "CONFLICT": "Conflict",
        "RATE_LIMITED": "RateLimited",
        "TIMEOUT": "Timeout",
        "NETWORK": "NetworkError",
        "TLS": "TlsError",
        "PROTOCOL": "ProtocolError",
        "CANCELLED": "Cancelled",
        "INTERNAL": "InternalError",
    }
    codes = header_defines("KPOS_E_")
    assert set(codes) == set(expected)
    for name, number in codes.items():
        cls = getattr(klarna_pos, expected[name])
        assert issubclass(cls, KlarnaError) and cls is not KlarnaError
        assert cls.code == number
        assert error_class(number) is cls
        assert cls("x").name == "KPOS_E_" + name
    assert error_class(4242) is KlarnaError


def test_version_is_the_librarys():
    major, minor, patch = (
        header_defines("KPOS_VERSION_")[part] for part in ("MAJOR", "MINOR", "PATCH")
    )
    assert klarna_pos.__version__ == "{}.{}.{}".format(major, minor, patch)
    assert klarna_pos.__version__ == lib.kpos_version().decode()
    cargo = (ROOT / "Cargo.toml").read_text()
    assert 'version = "{}"'.format(klarna_pos.__version__) in cargo


def test_the_library_version_number_is_the_headers():
    defines = header_defines("KPOS_VERSION_")
    major, minor, patch = (defines[part] for part in ("MAJOR", "MINOR", "PATCH"))
    assert lib.kpos_version_number() == major * 10000 + minor * 100 + patch


def test_the_package_version_comes_from_cargo_toml():
    from klarna_pos import _native

    cargo = (ROOT / "Cargo.toml").read_text()
    assert _native.binding_version() == _native.cargo_version(cargo) == klarna_pos.__version__


def test_a_library_of_another_major_version_is_refused_naming_both():
    from klarna_pos._native import version_mismatch

    assert version_mismatch(10203, "1.0.0") is None, "same major, other minor and patch"
    assert version_mismatch(102, "0.9.9") is None
    why = version_mismatch(20001, "1.2.3")
    assert why is not None and "2.0.1" in why and "1.2.3" in why, why
    why = version_mismatch(10000, "0.1.0")
    assert why is not None and "1.0.0" in why and "0.1.0" in why, why


# ---- loading the native library -------------------------------------------------------------


def import_in_subprocess(library_env):
    """Imports the package in a fresh interpreter; returns (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "KLARNA_POS_LIBRARY"}
    env.update(library_env)
    code = "import klarna_pos._native as n; print(n.lib._name)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(ROOT / "bindings/python"),
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode, done.stdout.strip(), done.stderr


def test_checkout_build_is_found_without_configuration():
    status, loaded, _ = import_in_subprocess({})
    assert status == 0
    assert Path(loaded).parent.parent == target_dir()


def test_explicit_library_path_wins_and_a_wrong_one_fails_clearly():
    status, loaded, _ = import_in_subprocess({"KLARNA_POS_LIBRARY": str(library_path())})
    assert (status, loaded) == (0, str(library_path()))
    status, _, stderr = import_in_subprocess({"KLARNA_POS_LIBRARY": "/no/such/libklarna_pos.so"})
    assert status != 0
    assert "ImportError" in stderr and "KLARNA_POS_LIBRARY" in stderr
