# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prefetch yields what the scan yields, raises what it raises, and stops when the reader
stops."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import prefetch
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import ApiError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    NOW_DT,
    client_for,
)


def query():
    return Query.from_options({"since": "2026-10-01T00:00:00Z"}, now=NOW_DT)


def test_the_same_entries_and_report_as_the_scan(emulator):
    with client_for(emulator) as client:
        plain = client.scan(query(), page_size=30)
        expected = list(plain)
        ahead = client.scan(query(), page_size=30, prefetch=True)
        assert list(ahead) == expected and len(expected) > 300
    assert ahead.report == plain.report


def test_an_error_in_the_thread_is_raised_to_the_reader(api):
    api.faults({"kind": "status", "status": 500, "after": 3, "times": 50})
    with client_for(api, max_retries=0) as client:
        with pytest.raises(ApiError):
            list(client.scan(query(), page_size=10, prefetch=True))


def test_the_reader_leaving_ends_the_thread(api, monkeypatch):
    monkeypatch.setattr(prefetch, "CHUNK", 10)
    with client_for(api) as client:
        stream = iter(client.scan(query(), page_size=10, prefetch=True))
        next(stream)
        stream.close()
        sent = api.stats()["requests"]
    assert sent <= 2 + prefetch.DEFAULT_DEPTH  # the bounded read-ahead, not the window
    assert not [t for t in threading.enumerate() if t.name.startswith("prefetch")]
