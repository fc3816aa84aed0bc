"""Fixtures for the klarna_pos wrapper tests: a fresh simulator per test and clients for it.

The package is imported from this checkout, with the library cargo just built (unless
KLARNA_POS_LIBRARY names another one).
"""

import json
import os
import sys
from pathlib import Path

import pytest

from klarna_sim import (
    ROOT,
    TEST_PASSWORD,
    TEST_USER,
    TEST_USER_AGENT,
    Simulator,
    build,
    library_path,
)

build()
os.environ.setdefault("KLARNA_POS_LIBRARY", str(library_path()))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import klarna_pos  # noqa: E402  (after the build and the path set-up above)


@pytest.fixture
def sim():
    """A simulator whose customer the test plays through the control endpoints."""
    simulator = Simulator(customer="manual")
    yield simulator
    simulator.close()


@pytest.fixture
def make_client(sim):
    """make_client(password=...) -> a client for the test's simulator, polling every 100 ms."""

    def make(password: str = TEST_PASSWORD) -> klarna_pos.Client:
        return klarna_pos.Client(
            api_url=sim.url,
            username=TEST_USER,
            password=password,
            user_agent=TEST_USER_AGENT,
            poll_interval_ms=100,
        )

    return make


@pytest.fixture
def client(make_client):
    with make_client() as c:
        yield c


@pytest.fixture
def order():
    """A valid Swedish order with non-ASCII names, as a dict."""
    return json.loads((ROOT / "tests/data/valid_orders/se_vat_discount.json").read_text("utf-8"))
