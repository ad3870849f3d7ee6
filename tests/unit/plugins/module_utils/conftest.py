# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulators for the client tests: started once per test session, reset between tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    dataset,
    start_emulator,
)


def _session_emulator(request, *extra):
    emulator = start_emulator(*extra)
    request.addfinalizer(emulator.stop)
    return emulator


@pytest.fixture(scope="session")
def emulator_2026(request):
    return _session_emulator(request, "--api", "2026-08")


@pytest.fixture(scope="session")
def emulator_seed(request):
    return _session_emulator(request, "--api", "seed")


@pytest.fixture(scope="session")
def emulator_tls(request):
    return _session_emulator(request, "--api", "2026-08", "--tls")


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
