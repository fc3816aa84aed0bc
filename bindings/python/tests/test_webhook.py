"""Payments that are not followed by plain polling, from Python: webhook callbacks received by a
small http.server on loopback that hands every call to Client.verify_webhook, and the static-QR
short-code flow."""

import http.server
import json
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from klarna_pos import (
    BadRequest,
    Client,
    KlarnaError,
    NotFound,
    PermissionDenied,
    Status,
    WebhookResult,
)
from klarna_sim import TEST_PASSWORD, TEST_USER

PATH = "/klarna/status"


class Receiver(http.server.ThreadingHTTPServer):
    """The till backend's webhook endpoint in miniature: every POST to it is verified by the
    client, answered as the library advises, and reported to ``deliveries``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:{}{}".format(self.server_address[1], PATH)
        self.client = None
        self.deliveries = queue.Queue()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def next(self, count: int):
        """The next ``count`` calls handled (bounded, so a missing call fails the test)."""
        try:
            return [self.deliveries.get(timeout=30) for _ in range(count)]
        except queue.Empty:
            raise AssertionError("a callback never arrived") from None


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            result = self.server.client.verify_webhook(self.path, body)
            answer, outcome = 200, result
        except PermissionDenied as e:
            answer, outcome = 403, e
        except NotFound as e:
            answer, outcome = 404, e
        except BadRequest as e:
            answer, outcome = 400, e
        except KlarnaError as e:
            answer, outcome = 503, e  # Klarna delivers again
        self.send_response(answer)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            payload_status = json.loads(body).get("status")
        except ValueError:
            payload_status = None
        self.server.deliveries.put((payload_status, outcome))

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def receiver(sim):
    """A receiver serving a client whose sessions report to it."""
    server = Receiver()
    server.client = Client(
        api_url=sim.url,
        username=TEST_USER,
        password=TEST_PASSWORD,
        poll_interval_ms=100,
        webhook_url=server.url,
        webhook_poll_interval_ms=30_000,
    )
    server.thread.start()
    yield server
    server.shutdown()
    server.server_close()
    server.client.close()


def callback_url(sim, session) -> str:
    return sim.session(session.id)["callback_url"]


def param(url: str, name: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[name][0]


def test_a_webhook_driven_payment_completes(sim, receiver, order):
    client = receiver.client
    with client.create_session(order) as session:
        url = callback_url(sim, session)
        assert url.startswith(receiver.url + "?kpos_ref=")
        assert len(param(url, "kpos_ref")) == 32 and len(param(url, "kpos_token")) == 43

        assert session.wait(timeout=20) is Status.DISTRIBUTED
        assert session.qr_url, "the QR URL came with the callback"
        sim.customer(session.id, "scan")
        assert session.wait(timeout=20) is Status.ACCESSED
        assert sim.session(session.id)["polls"] == 0, "learned from callbacks"
        sim.customer(session.id, "approve", {"order_id": "ORDER-PY-HOOK"})
        assert session.wait(timeout=20) is Status.COMPLETED
        assert session.order_id == "ORDER-PY-HOOK"
        assert sim.session(session.id)["polls"] == 1, "one GET confirmed COMPLETED"

        handled = receiver.next(3)
    assert [status for status, _ in handled] == ["DISTRIBUTED", "ACCESSED", "COMPLETED"]
    for _, outcome in handled:
        assert isinstance(outcome, WebhookResult), outcome
        assert outcome.session_id == session.id
    session_id, status = handled[2][1]
    assert (session_id, status) == (session.id, Status.COMPLETED)


def test_a_forged_token_raises_permission_denied_and_changes_nothing(sim, receiver, order):
    client = receiver.client
    with client.create_session(order) as session:
        assert session.wait(timeout=20) is Status.DISTRIBUTED
        receiver.next(1)
        url = callback_url(sim, session)
        reference, token = param(url, "kpos_ref"), param(url, "kpos_token")
        forged = token[:-1] + ("B" if token[-1] == "A" else "A")
        claim = json.dumps({"status": "COMPLETED", "order_id": "forged"})

        for request in [
            "{}?kpos_ref={}&kpos_token={}".format(PATH, reference, forged),
            "{}?kpos_ref={}".format(PATH, reference),
            PATH,
        ]:
            with pytest.raises(PermissionDenied) as e:
                client.verify_webhook(request, claim)
            assert token not in str(e.value) and forged not in str(e.value)
        with pytest.raises(NotFound):
            client.verify_webhook(
                "{}?kpos_ref={}&kpos_token={}".format(PATH, "0" * 32, token), claim
            )

        # The same forgery over HTTP, as Klarna's side would send it: answered 403.
        req = urllib.request.Request(url.replace(token, forged), data=claim.encode(), method="POST")
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(req, timeout=10)
        assert answered.value.code == 403
        assert isinstance(receiver.next(1)[0][1], PermissionDenied)

        # Authentic, but not a status payload: a NUL byte does not shorten the body.
        genuine = url[url.index(PATH) :]
        payload = json.dumps({"status": "ACCESSED", "session_id": session.id}).encode()
        for body in [b"not json", payload + b"\0garbage", payload + b"\0", "{}"]:
            with pytest.raises(BadRequest):
                client.verify_webhook(genuine, body)
        # Nor does it shorten the request target: a NUL after the token is part of the token.
        with pytest.raises(PermissionDenied):
            client.verify_webhook(genuine.encode() + b"\0", payload)

        assert session.status is Status.DISTRIBUTED
        assert session.order_id is None
        assert sim.session(session.id)["polls"] == 0, "a refused call causes no traffic"

        # The genuine call with a genuine payload, as the full URL.
        assert client.verify_webhook(url, payload) == (session.id, Status.ACCESSED)
        assert session.status is Status.ACCESSED


def test_a_short_code_payment_completes_without_a_qr_code(sim, client, order):
    status, answer = sim.request("POST", "/_sim/short_codes")
    assert status == 200
    code = answer["short_code"]
    order["distribution"] = {"short_code": code}
    with client.create_session(order) as session:
        assert sim.session(session.id)["short_code"] == code
        assert session.wait(timeout=10) is Status.DISTRIBUTED
        assert session.qr_url is None, "the payment is already on the customer's phone"
        sim.customer(session.id, "scan")
        assert session.wait(timeout=10) is Status.ACCESSED
        sim.customer(session.id, "approve", {"order_id": "ORDER-PY-SHORT"})
        assert session.wait(timeout=10) is Status.COMPLETED
        assert session.order_id == "ORDER-PY-SHORT"


def test_a_malformed_short_code_is_refused_locally(sim, client, order):
    order["distribution"] = {"short_code": "12a4"}
    with pytest.raises(BadRequest) as e:
        client.create_session(order)
    assert e.value.field == "distribution.short_code"
    assert sim.stats()["requests"] == 0
