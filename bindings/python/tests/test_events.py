"""Session.watch and Session.wait_async against the simulator, and the status texts in the
cashier's and the customer's language."""

import asyncio
import threading

import pytest

import klarna_pos
from klarna_pos import Status


class Recorder:
    """A listener that records statuses and the threads it ran on."""

    def __init__(self) -> None:
        self.statuses = []
        self.threads = set()
        self.changed = threading.Condition()

    def __call__(self, status: Status) -> None:
        with self.changed:
            self.statuses.append(status)
            self.threads.add(threading.get_ident())
            self.changed.notify_all()

    def wait_for(self, status: Status, timeout: float = 20.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: status in self.statuses, timeout)


def test_watch_reports_each_status_once_in_order_on_the_library_thread(client, order, sim):
    with client.create_session(order) as session:
        assert session.poll() == Status.DISTRIBUTED
        seen = Recorder()
        session.watch(seen)
        assert seen.wait_for(Status.DISTRIBUTED)
        sim.customer(session.id, "scan")
        assert seen.wait_for(Status.ACCESSED)
        sim.customer(session.id, "approve")
        assert seen.wait_for(Status.COMPLETED)
        session.poll()
        session.watch(None)
        assert seen.statuses == [Status.DISTRIBUTED, Status.ACCESSED, Status.COMPLETED]
        assert threading.get_ident() not in seen.threads
        assert session.order_id


def test_a_listener_that_raises_keeps_receiving(client, order, sim, capsys):
    with client.create_session(order) as session:
        session.poll()
        seen = Recorder()

        def fails_first(status: Status) -> None:
            seen(status)
            if status == Status.DISTRIBUTED:
                raise RuntimeError("a till bug")

        session.watch(fails_first)
        assert seen.wait_for(Status.DISTRIBUTED)
        sim.customer(session.id, "approve")
        assert seen.wait_for(Status.COMPLETED)
        assert "a till bug" in capsys.readouterr().err


def test_watch_none_and_close_end_the_watch(client, order, sim):
    session = client.create_session(order)
    session.poll()
    seen = Recorder()
    session.watch(seen)
    assert seen.wait_for(Status.DISTRIBUTED)
    session.watch(None)
    sim.customer(session.id, "scan")
    assert session.poll() == Status.ACCESSED
    assert seen.statuses == [Status.DISTRIBUTED], "no call after watch(None) returned"
    session.watch(seen)
    assert seen.wait_for(Status.ACCESSED), "a new watch starts with the current status"
    session.close()
    sim.customer(session.id, "approve")
    assert seen.statuses == [Status.DISTRIBUTED, Status.ACCESSED]
    with pytest.raises(klarna_pos.InvalidArgument):
        session.watch(seen)


def test_wait_async_returns_the_final_status_without_blocking_the_loop(client, order, sim):
    with client.create_session(order) as session:
        session.poll()
        python_threads = threading.active_count()

        async def till() -> tuple:
            ticks = 0
            waiting = asyncio.ensure_future(session.wait_async(timeout=20.0))
            await asyncio.sleep(0)
            sim.customer(session.id, "scan")
            sim.customer(session.id, "approve")
            while not waiting.done():
                ticks += 1
                await asyncio.sleep(0.01)
            return await waiting, ticks, threading.active_count()

        status, ticks, threads_while_waiting = asyncio.run(till())
        assert status == Status.COMPLETED
        assert ticks > 0, "the loop ran while the payment was followed"
        assert threads_while_waiting == python_threads, "no Python thread waits"
        assert not session._native, "the watch ended with the final status"


def test_wait_async_times_out_with_the_last_status(client, order):
    with client.create_session(order) as session:
        session.poll()
        with pytest.raises(klarna_pos.Timeout) as raised:
            asyncio.run(session.wait_async(timeout=0.3))
        assert raised.value.status == Status.DISTRIBUTED
        assert session.status == Status.DISTRIBUTED, "a timeout does not cancel"
        assert not session._native, "the watch ended with the wait"


def test_wait_async_ends_with_a_cancel_and_keeps_the_watch_listener(client, order):
    with client.create_session(order) as session:
        session.poll()
        seen = Recorder()
        session.watch(seen)

        async def till() -> Status:
            asyncio.get_running_loop().call_later(0.05, session.cancel)
            return await session.wait_async(timeout=20.0)

        assert asyncio.run(till()) == Status.CANCELED
        assert seen.wait_for(Status.CANCELED)
        assert seen.statuses.count(Status.CANCELED) == 1


def test_wait_async_on_a_finished_session_returns_at_once(client, order, sim):
    with client.create_session(order) as session:
        session.poll()
        sim.customer(session.id, "approve")
        assert session.poll() == Status.COMPLETED
        assert asyncio.run(session.wait_async(timeout=5.0)) == Status.COMPLETED


def test_texts_in_the_cashiers_and_the_customers_language():
    assert klarna_pos.display_text(Status.ACCESSED, "sv") == "Betalning pågår"
    assert klarna_pos.display_text(Status.ACCESSED, "SV-se") == "Betalning pågår"
    assert klarna_pos.display_text(Status.ACCESSED, "ja-JP") == "Payment in progress"
    assert klarna_pos.display_text(Status.ACCESSED) == Status.ACCESSED.display_text
    assert klarna_pos.customer_text(Status.COMPLETED, "de-AT") == "Zahlung erfolgreich. Vielen Dank!"
    assert klarna_pos.customer_text(Status.CANCELED, "en-GB") == "The payment was cancelled"
    assert klarna_pos.customer_text(Status.CANCELED, "en-US") == "The payment was canceled"
    assert klarna_pos.customer_text(12345, "fi") == "Hetkinen..."
    for language in ["sv", "nb", "da", "fi", "de", "nl", "fr", "es", "it", "pl", "cs", "pt", "en"]:
        for status in Status:
            assert klarna_pos.display_text(status, language)
            assert klarna_pos.customer_text(status, language)


def test_the_documented_text_tables_are_the_librarys():
    """docs/events.md shows every text of the table; each cell equals what the library returns."""
    from klarna_sim import ROOT

    doc = (ROOT / "docs/events.md").read_text("utf-8")
    columns = [
        Status.CREATED,
        Status.DISTRIBUTED,
        Status.ACCESSED,
        Status.COMPLETED,
        Status.CANCELED,
        Status.FAILED,
        Status.EXPIRED,
        Status.UNKNOWN,
    ]
    tables = {"kpos_status_display_text_for": klarna_pos.display_text,
              "kpos_status_customer_text_for": klarna_pos.customer_text}
    checked = 0
    for heading, text_of in tables.items():
        section = doc.split("(`{}`)".format(heading), 1)[1].split("\n\n", 2)[1]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert len(rows) >= 13, heading
        for row in rows:
            cells = [c.strip() for c in row.strip("|").split("|")]
            tag = cells[0].strip("`")
            for status, cell in zip(columns, cells[2:]):
                assert cell == text_of(status, tag).replace("\u00a0", " "), (heading, tag, status)
                checked += 1
    assert checked == 2 * 14 * 8
