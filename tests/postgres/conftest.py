# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the PostgreSQL checkpoint store against a real, throwaway server (tests/pg_server.py).

    python -m pytest -q -p no:cacheprovider tests/postgres     # the eda venv (psycopg)

Plain pytest, run once (not under ansible-test units). Without PostgreSQL server binaries they
FAIL with a message saying what to install: the test pipeline installs them, and a durability
claim is never tested against a mock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import runpy
import sys

import pytest
from hypothesis import HealthCheck, settings

HERE = os.path.dirname(os.path.abspath(__file__))
# The collection finder, installed exactly as for the unit tests.
runpy.run_path(os.path.join(HERE, "..", "unit", "conftest.py"))
sys.path.insert(0, os.path.dirname(HERE))

from pg_server import PgServer, PgUnavailable  # noqa: E402 pylint: disable=wrong-import-position

settings.register_profile(
    "ci", derandomize=True, max_examples=25, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "long", max_examples=300, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def pg():
    try:
        server = PgServer()
    except PgUnavailable as err:
        pytest.fail(str(err), pytrace=False)
    with server:
        yield server


@pytest.fixture
def fresh_key(request):
    """A state key of its own per test (the tables are shared)."""
    return "test:" + request.node.name
