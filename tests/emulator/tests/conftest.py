# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the emulator's own tests: one data set, one running emulator, raw clients."""

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position
from emulator_testlib import API_KEY, ENTRIES, NOW, SEED, Client  # noqa: E402
from audit_emulator import Dataset  # noqa: E402
from audit_emulator.server import Emulator  # noqa: E402


@pytest.fixture(scope="session")
def dataset():
    return Dataset(seed=SEED, entries=ENTRIES, now=NOW)


@pytest.fixture(scope="session")
def _emulator(dataset):
    emu = Emulator(api_key=API_KEY, dataset=dataset).start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(_emulator):
    """The shared emulator, with counters, faults and settings cleared before each test."""
    _emulator.admin("POST", "reset", "", b"")
    _emulator.admin("PUT", "config", "", b'{"rate_limit": null, "api": "2026-08"}')
    return _emulator


@pytest.fixture
def client(emu):
    c = Client(emu.url)
    yield c
    c.close()


@pytest.fixture
def admin(emu):
    """JSON admin calls over HTTP, on their own connection."""
    def call(method, name, body=None, params=None):
        c = Client(emu.url, api_key=None)
        try:
            raw = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            resp = c.request(method, "/_emulator/" + name, params, body=raw, auth=False)
            return resp.status, resp.json()
        finally:
            c.close()
    return call
