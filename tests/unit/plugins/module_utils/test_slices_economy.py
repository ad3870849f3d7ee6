# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a parallel read costs the server (issue 23): its connections, its extra requests, and
how its back-off meets a rate limit. The reference is always a sequential read of the same
server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import slices, workers
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    NOW,
    NOW_DT,
    client_for,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.fake_list_api import (
    BASE,
    FakeListApi,
    FakeTransport,
    entry_at,
)

PAGE = 10


def window_query(seconds):
    return Query.from_options({"since": format_utc(BASE), "until": format_utc(
        BASE + datetime.timedelta(seconds=seconds))}, now=BASE)


def requests_of(entries, seconds, parallelism):
    """(entries read, report, requests sent) of one read of the fake server."""
    api = FakeListApi(entries)
    query = window_query(seconds)
    if parallelism == 1:
        scan = Scan(FakeTransport(api), query, page_size=PAGE)
    else:
        scan = slices.ParallelScan(FakeTransport(api), query, PAGE, parallelism, spill=False)
    got = list(scan)
    return got, scan.report, api.requests


def uniform(count, seconds):
    return [entry_at(i, seconds * (i + 0.5) / count) for i in range(count)]


def bursty(count, seconds):
    """Half the entries in the window's first minute, the rest spread over it."""
    half = count // 2
    return [entry_at(i, 60.0 * i / half) for i in range(half)] + \
        [entry_at(half + i, seconds * (i + 0.5) / (count - half)) for i in range(count - half)]


@pytest.mark.parametrize("count,parallelism", [(100, 2), (100, 8), (150, 16), (320, 8)])
def test_the_slice_count_leaves_every_slice_ten_pages(count, parallelism):
    planned = slices.slice_count(count * PAGE, PAGE, parallelism)
    assert planned >= 2
    assert planned * slices.MIN_SLICE_PAGES <= count  # every slice's share is 10 pages or more
    assert planned <= max(slices.MIN_SLICES, parallelism * slices.SLICES_PER_WORKER)
    if planned < 2 * parallelism:  # fewer than two a worker: workers finish together
        assert planned <= parallelism or planned % parallelism == 0


@pytest.mark.parametrize("pages", [1, 5, 19])
def test_windows_under_twenty_pages_are_not_sliced(pages):
    assert slices.slice_count(pages * PAGE, PAGE, 8) < 2


@pytest.mark.parametrize("shape", [uniform, bursty])
@pytest.mark.parametrize("pages", [100, 250])
def test_extra_requests_stay_within_ten_percent(shape, pages):
    entries = shape(pages * PAGE, 86400)
    sequential, dummy, sent_alone = requests_of(entries, 86400, 1)
    parallel, report, sent = requests_of(entries, 86400, 8)
    assert parallel == sequential
    assert report["parallel"]["used"] is True and report["complete"] is True
    assert sent <= 1.10 * sent_alone, (sent, sent_alone, report["parallel"])


def test_a_small_window_is_read_sequentially_at_no_extra_cost():
    entries = uniform(15 * PAGE, 3600)
    sequential, dummy, sent_alone = requests_of(entries, 3600, 1)
    parallel, report, sent = requests_of(entries, 3600, 8)
    assert parallel == sequential
    assert report["parallel"]["used"] is False
    assert "too few" in report["parallel"]["reason"]
    assert sent == sent_alone


def test_probes_and_slices_share_at_most_parallelism_plus_one_connections(api, monkeypatch):
    monkeypatch.setattr(slices, "MIN_SLICE_PAGES", 1)  # slice the emulator's small data
    query = Query.from_options({"since": "2026-09-01T00:00:00Z",
                                "until": "2026-11-25T00:00:00Z"}, now=NOW_DT)
    with client_for(api) as client:
        sequential, dummy = client.read(query, page_size=10, parallelism=1)
    api.reset()
    with client_for(api) as client:
        parallel, report = client.read(query, page_size=10, parallelism=4)
    assert parallel == sequential
    assert report["parallel"]["used"] is True and report["parallel"]["probes"] >= 1
    stats = api.stats()
    assert stats["requests"] > 5 * report["parallel"]["slices"]  # many requests, few connections
    assert stats["connections"] <= 4 + 1


class _Clock(object):
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_a_back_off_halves_the_requests_in_flight_once_and_quiet_raises_them():
    clock = _Clock()
    gate = workers.BackoffGate(clock, clock.sleep, 8)
    first, other = object(), object()
    gate.hold(1.0, first)
    gate.hold(1.0, other)  # a second 429 of the same burst: the same back-off
    assert gate.allowed == 4 and gate.backoffs == 1
    clock.now += 1.0  # the wait is over: a new 429 is a new back-off
    gate.hold(1.0, other)
    assert gate.allowed == 2 and gate.backoffs == 2
    for dummy in range(3):
        clock.now += 1.0
        gate.hold(1.0, first)
    assert gate.allowed == 1  # never below one
    gate.pass_through(first)
    gate.release(first, True)  # not quiet long enough yet
    assert gate.allowed == 1
    clock.now += 1.0 + 2.0  # the wait, then a quiet period of twice it
    gate.pass_through(first)
    gate.release(first, True)
    assert gate.allowed == 2
    gate.pass_through(first)
    gate.release(first, True)  # the next step needs another quiet period
    assert gate.allowed == 2
    for dummy in range(10):
        clock.now += 2.0
        gate.pass_through(first)
        gate.release(first, True)
    assert gate.allowed == 8  # back to the ceiling, not beyond
    assert gate.summary() == {"backoffs": 5, "fewest_in_flight": 1}


def test_rate_limits_pace_request_starts_at_the_rate_that_got_through():
    clock = _Clock()
    gate = workers.BackoffGate(clock, clock.sleep, 8)
    gate.hold(1.0, "a", limited=True)  # the first 429: measuring starts, no pace yet
    assert gate.interval is None
    for dummy in range(40):  # 40 successes in the 2 s to the next 429: 20 a second
        gate.pass_through("a")
        gate.release("a", True)
    clock.now += 2.0
    gate.hold(1.0, "a", limited=True)
    assert gate.interval == pytest.approx(1.0 / (20 * workers.PACE_HEADROOM))
    clock.now += 1.0
    clock.slept = []
    for dummy in range(3):
        gate.pass_through("b")
        gate.release("b", True)
    # Back to back: the second and third starts wait for their turn.
    assert clock.slept == pytest.approx([gate.interval, gate.interval])


def test_a_server_error_backs_off_without_pacing():
    clock = _Clock()
    gate = workers.BackoffGate(clock, clock.sleep, 8)
    for dummy in range(3):
        gate.hold(1.0, "a")  # 5xx or a connection error: not a rate limit
        clock.now += 2.0
        gate.pass_through("a")
        gate.release("a", True)
    assert gate.interval is None and gate.backoffs == 3


def test_a_failed_request_raises_nothing_and_frees_its_place():
    clock = _Clock()
    gate = workers.BackoffGate(clock, clock.sleep, 2)
    gate.hold(1.0, "a")
    clock.now += 10.0
    gate.pass_through("a")
    assert gate.in_flight == 1
    gate.release("a", False)
    assert gate.in_flight == 0 and gate.allowed == 1


def _read_ids(emulator, query, parallelism):
    """One read of every page with real waits; (ids, requests, 429s) as the emulator saw them."""
    emulator.reset()
    with AuditLogClient(emulator.api_key, base_url=emulator.url, ca_path=emulator.ca_path,
                        max_retries=2) as client:
        entries, dummy = client.read(query, page_size=10, parallelism=parallelism)
    stats = emulator.stats()
    return [e["id"] for e in entries], stats["requests"], stats["by_status"].get("429", 0)


def test_a_rate_limited_parallel_read_paces_itself_below_the_limit(api):
    """Against a token bucket that answers 429 with Retry-After (the emulator's rate limit),
    a parallel read of about 300 pages finishes with every entry, few 429s, and not many
    more requests than a sequential read without the limit."""
    query = Query.from_options({"since": "2026-09-01T00:00:00Z", "until": NOW}, now=NOW_DT)
    reference, plain_requests, dummy = _read_ids(api, query, 1)
    try:
        api._admin("PUT", "config", json={"rate_limit": 50})  # pylint: disable=protected-access
        got, requests, limited = _read_ids(api, query, 8)
    finally:
        api._admin("PUT", "config", json={"rate_limit": None})  # pylint: disable=protected-access
    assert got == reference
    assert limited < 0.05 * requests
    assert requests - limited <= 1.1 * plain_requests
