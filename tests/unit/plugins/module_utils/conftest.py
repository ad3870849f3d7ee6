# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulators for the client tests: started once per test session, reset between tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    dataset,
    start_emulator,
)


# Emulators are started in the process that collected the tests, not in a fixture: ansible-test
# runs every test in a forked child, where a session fixture would start (and never stop) an
# emulator per test. Collected once, they serve every test of this run and stop at its end.
_FLAVOURS = {
    "emulator_2026": ("--api", "2026-08"),
    "emulator_seed": ("--api", "seed"),
    "emulator_tls": ("--api", "2026-08", "--tls"),
}
# Fixtures that reach an emulator without naming it as an argument.
_INDIRECT = {"emulator": ("emulator_2026", "emulator_seed"), "api": ("emulator_2026",)}
_RUNNING = {}
_OWNER = []


def _running(name):
    if name not in _RUNNING:
        if not _OWNER:
            _OWNER.append(os.getpid())
        _RUNNING[name] = start_emulator(*_FLAVOURS[name])
    return _RUNNING[name]


def pytest_collection_modifyitems(session, config, items):
    wanted = set()
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            if name in _FLAVOURS:
                wanted.add(name)
            wanted.update(_INDIRECT.get(name, ()))
    for name in sorted(wanted):
        _running(name)


def pytest_unconfigure(config):
    if _OWNER and _OWNER[0] == os.getpid():
        for emulator in _RUNNING.values():
            emulator.close()
        _RUNNING.clear()


@pytest.fixture(scope="session")
def emulator_2026():
    return _running("emulator_2026")


@pytest.fixture(scope="session")
def emulator_seed():
    return _running("emulator_seed")


@pytest.fixture(scope="session")
def emulator_tls():
    return _running("emulator_tls")


@pytest.fixture(params=["2026-08", "seed"])
def emulator(request):
    """Each test using it runs against both API generations, from a clean state."""
    running = request.getfixturevalue("emulator_2026" if request.param == "2026-08"
                                      else "emulator_seed")
    running.reset()
    yield running
    running.reset()


@pytest.fixture
def api(emulator_2026):
    emulator_2026.reset()
    yield emulator_2026
    emulator_2026.reset()


@pytest.fixture(scope="session")
def truth():
    return dataset()
