# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A parallel read against servers that lie (issue 20, "complete means complete"): the result
is the sequential read of the true data, or it says it is not complete. Each test is one lie,
against an in-process list endpoint (fake_list_api); the reference is a Scan of an honest
one, never a hard-coded list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import slices
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.fake_list_api import (
    BASE,
    FakeListApi,
    FakeTransport,
    entry_at,
)


@pytest.fixture(autouse=True, scope="module")
def slices_of_one_page():
    """These tests exercise slicing on small windows: every slice may hold one page (the rule
    that reads small windows sequentially, MIN_SLICE_PAGES, has tests of its own)."""
    kept, slices.MIN_SLICE_PAGES = slices.MIN_SLICE_PAGES, 1
    yield
    slices.MIN_SLICE_PAGES = kept


def window_query(since, until, order="newest_first"):
    def at(seconds):
        return format_utc(BASE + datetime.timedelta(seconds=seconds))
    return Query.from_options({"since": at(since), "until": at(until), "order": order},
                              now=BASE)


def truth(entries, query, page_size=10):
    return list(Scan(FakeTransport(FakeListApi(entries)), query, page_size=page_size))


def parallel(api, query, parallelism=8, page_size=10):
    scan = slices.ParallelScan(FakeTransport(api), query, page_size, parallelism, spill=False)
    return list(scan), scan.report


def ids(entries):
    return [e["id"] for e in entries]


def test_entries_lost_only_in_narrow_ranges_are_never_complete():
    # 400 entries over 4,000 s: the first split (16 parts of 250 s) is counted honestly, the
    # second level (125 s) loses five entries from its items and its count alike.
    entries = [entry_at(n, 10 * n + 3) for n in range(400)]
    lost = ["e%05d" % n for n in (17, 18, 201, 202, 350)]
    api = FakeListApi(entries, narrow_width=200, narrow_lost=lost)
    q = window_query(0, 4000)
    got, report = parallel(api, q)
    expected = truth(entries, q)
    assert len(expected) == 400
    assert got == expected and report["complete"] is True
    # The planner saw the parts fall short of their range and read the window in one chain.
    assert report["parallel"]["used"] is False
    assert "fall short" in report["parallel"]["reason"]


def test_a_narrow_loss_the_counts_of_a_level_hide_is_flagged_by_the_union():
    # An entry every second: the split points (whole seconds) hold one each, which both sides
    # of a split count, so two entries lost by every part still leave the parts' counts above
    # their range's. Each slice matches its own count; only the window's can tell.
    entries = [entry_at(n, n) for n in range(400)]
    lost = ["e%05d" % n for n in (17, 201)]
    api = FakeListApi(entries, narrow_width=400, narrow_lost=lost)  # every part, not the window
    got, report = parallel(api, window_query(0, 400))
    assert report["parallel"]["used"] is True and len(got) == 398
    assert report["complete"] is False and "398" in report["incomplete_reason"]


def _burst_api(**lies):
    # 40 entries over 20 s, a burst of 60 in second 30 and 15 entries after the window.
    entries = [entry_at(n, n // 2 + 1) for n in range(40)]
    entries += [entry_at(100 + n, 30) for n in range(60)]
    entries += [entry_at(200 + n, 35) for n in range(15)]
    return entries, FakeListApi(entries, **lies)


def test_pages_that_ignore_the_bounds_never_give_duplicates():
    # The page at offset 30 is cut from the unfiltered list: for the burst's slice it repeats
    # entries of its second page (not adjacent: the scan's own dedupe misses them).
    entries, api = _burst_api(ignore_bounds=lambda offset, params: offset == 30)
    q = window_query(0, 32)
    got, report = parallel(api, q)
    assert len(ids(got)) == len(set(ids(got)))
    assert got != truth(entries, q)  # entries 30..39 of the burst were never sent
    assert report["complete"] is not True and "time slice" in report["incomplete_reason"]
    assert report["duplicates"] >= 5


def test_truncated_bounds_with_fractional_times_lose_nothing():
    # Entries at fractional seconds; the server truncates created_at_min/max to whole seconds.
    entries = [entry_at(n, n * 7.37 + 0.25) for n in range(500)]
    api = FakeListApi(entries, truncate=True)
    q = window_query(0, 3700)
    got, report = parallel(api, q)
    expected = truth(entries, q)
    assert len(expected) == 500
    assert ids(got) == ids(expected) and report["complete"] is True
    assert report["parallel"]["used"] is True


def test_a_fractional_window_on_a_truncating_server_loses_nothing():
    entries = [entry_at(n, n * 7.37 + 0.25) for n in range(500)]
    api = FakeListApi(entries, truncate=True)
    for order in ("newest_first", "oldest_first"):
        q = window_query(1.5, 3672.9, order)  # 3672.9 > 498 * 7.37 + 0.25 = 3670.51
        got, report = parallel(api, q)
        expected = truth(entries, q)
        assert ids(got) == ids(expected) and report["complete"] is True
        # and when the window is too small to split, the one chain keeps it too
        small = window_query(10.5, 30.9, order)
        got, report = parallel(api, small)
        assert not report["parallel"]["used"]
        assert ids(got) == ids(truth(entries, small)) and report["complete"] is True


def test_an_honest_server_still_gives_a_complete_parallel_read():
    entries, api = _burst_api()
    q = window_query(0, 32, "oldest_first")
    got, report = parallel(api, q)
    assert got == truth(entries, q) and report["complete"] is True
    assert report["parallel"]["used"] is True and report["duplicates"] == 0


def test_a_wrong_window_count_is_flagged():
    entries = [entry_at(n, 10 * n + 3) for n in range(400)]

    def whole(params):
        window = (params["created_at_min"], params["created_at_max"])
        return 3 if window == ("2026-01-01T00:00:00Z", "2026-01-01T01:06:40Z") else 0

    api = FakeListApi(entries, count_delta=whole)
    got, report = parallel(api, window_query(0, 4000))
    assert report["complete"] is False and "400" in report["incomplete_reason"]
