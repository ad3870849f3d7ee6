# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Complete means complete: a parallel read (parallelism 2 to 8) against random data and a
server telling random lies, checked against the model, a sequential read of the true data.

The result is that read, entry for entry and in order, or its report says it is not
(``complete`` not True, with ``incomplete_reason``); it never holds an entry twice. The server
is the in-process list endpoint of the unit tests (fake_list_api): no HTTP. Read entry by
entry, or batch by batch with slices spilled (packed blocks), as the export reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from hypothesis import example, given, settings, strategies as st

from ansible_collections.nirvana_labs.audit.plugins.module_utils import slices, spill
from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import entries_of
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
from ansible_collections.nirvana_labs.audit.plugins.module_utils.slices import ParallelScan
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
    # Small spill blocks: a batch-by-batch read gets packed blocks from slices this small.
    kept_block, spill.SPILL_ENTRIES = spill.SPILL_ENTRIES, 3
    yield
    slices.MIN_SLICE_PAGES = kept
    spill.SPILL_ENTRIES = kept_block


SPAN = 600  # seconds of data
# The ci profile's share stays near 15 s; the long profile's own count applies otherwise.
_CI = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"


@st.composite
def histories(draw):
    """Times in [0, SPAN): spread, whole or fractional, with bursts (many entries in one
    instant) and ties."""
    times = []
    for dummy in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["spread", "burst", "fractional"]))
        count = draw(st.integers(1, 80))
        start = draw(st.integers(0, SPAN - 1))
        if kind == "burst":
            times += [float(start)] * count
        elif kind == "spread":
            times += [float(draw(st.integers(0, SPAN - 1))) for dummy2 in range(count)]
        else:
            times += [draw(st.integers(0, SPAN * 1000 - 1)) / 1000.0 for dummy2 in range(count)]
    return [entry_at(n, t) for n, t in enumerate(times)]


def _on_pages(chosen):
    return lambda offset, params: (offset // params["limit"]) in chosen


@st.composite
def lies(draw, entries, query):
    """Keyword arguments of FakeListApi: none, one or several lies at once. A loss in narrow
    ranges is narrower than the window (one in the window's own answer no reader can see)."""
    found = {}
    width = int((query.until - query.since).total_seconds())
    if draw(st.booleans()) and entries and width > 1:
        found["narrow_width"] = draw(st.integers(1, width - 1))
        found["narrow_lost"] = draw(st.sets(st.sampled_from([e["id"] for e in entries]),
                                            max_size=8))
    if draw(st.booleans()):
        found["ignore_bounds"] = _on_pages(draw(st.sets(st.integers(1, 12), max_size=3)))
    if draw(st.booleans()):
        found["truncate"] = True
    if draw(st.booleans()):
        delta = draw(st.integers(-3, 3))
        modulo = draw(st.integers(1, 5))
        found["count_delta"] = lambda params: delta if len(str(params)) % modulo == 0 else 0
    if draw(st.booleans()):
        found["repeat_every"] = draw(st.integers(1, 4))
    return found


def _at(seconds):
    return format_utc(BASE + datetime.timedelta(microseconds=round(seconds * 1000000)))


@st.composite
def windows(draw):
    since = draw(st.one_of(st.integers(-5, SPAN // 2).map(float),
                           st.integers(-5000, SPAN * 500).map(lambda m: m / 1000.0)))
    until = since + draw(st.one_of(st.integers(1, SPAN + 10).map(float),
                                   st.integers(1000, SPAN * 1000).map(lambda m: m / 1000.0)))
    order = draw(st.sampled_from(["newest_first", "oldest_first"]))
    return Query.from_options({"since": _at(since), "until": _at(until), "order": order},
                              now=BASE)


def _read(entries, lie, query, parallelism, page_size, batches=False):
    """The sequential read of the true data, and a parallel one: entry by entry in memory, or
    (``batches``) batch by batch, spilled, as the export reads (packed blocks unpacked)."""
    true = list(Scan(FakeTransport(FakeListApi(entries)), query, page_size=page_size))
    scan = ParallelScan(FakeTransport(FakeListApi(entries, **lie)), query, page_size,
                        parallelism, spill=batches)
    if batches:
        got = [entry for batch in scan.batches() for entry in entries_of(batch)]
    else:
        got = list(scan)
    return true, got, scan.report


def _check(true, got, report):
    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids)), "an entry was returned twice"
    if report["complete"] is True:
        assert got == true, "complete: true, yet not the sequential read of the true data"
        assert report["incomplete_reason"] is None
    else:
        assert isinstance(report["incomplete_reason"], str) and report["incomplete_reason"]


@settings(max_examples=45 if _CI else settings().max_examples)
@given(data=st.data(), parallelism=st.integers(2, 8), page_size=st.sampled_from([10, 13, 25]),
       batches=st.booleans())
def test_a_parallel_read_is_right_or_says_it_is_not(data, parallelism, page_size, batches):
    entries = data.draw(histories(), label="entries")
    query = data.draw(windows(), label="window")
    lie = data.draw(lies(entries, query), label="lies")
    _check(*_read(entries, lie, query, parallelism, page_size, batches))


@settings(max_examples=20 if _CI else settings().max_examples // 2)
@given(entries=histories(), query=windows(), parallelism=st.integers(2, 8),
       page_size=st.sampled_from([10, 13, 25]), truncate=st.booleans(), batches=st.booleans())
@example(entries=[entry_at(n, n * 0.37 + 0.25) for n in range(500)],
         query=Query.from_options({"since": _at(1.5), "until": _at(150.9)}, now=BASE),
         parallelism=8, page_size=10, truncate=True, batches=True)
def test_an_honest_server_gives_the_whole_answer(entries, query, parallelism, page_size,
                                                 truncate, batches):
    """Flagging is not a way out: without lies (truncating whole-second bounds is none) the
    read is complete and equal, entry by entry or batch by batch."""
    true, got, report = _read(entries, {"truncate": truncate}, query, parallelism, page_size,
                              batches)
    assert got == true
    assert report["complete"] is True, report["incomplete_reason"]
