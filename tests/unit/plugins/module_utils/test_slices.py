# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel time slices read exactly what the sequential scan reads, in the same order: on
both API generations, under faults, with max_results and resume cursors, and when the reader
stops early. The sequential read is the reference, never a hard-coded list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import slices, spill, workers
from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import flattened
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    BadResponseError,
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    NOW,
    NOW_DT,
    client_for,
    ids,
)


@pytest.fixture(autouse=True, scope="module")
def slices_of_one_page():
    """These tests exercise slicing on small windows: every slice may hold one page (the rule
    that reads small windows sequentially, MIN_SLICE_PAGES, has tests of its own)."""
    kept, slices.MIN_SLICE_PAGES = slices.MIN_SLICE_PAGES, 1
    yield
    slices.MIN_SLICE_PAGES = kept


# The emulator's data run from 2026-09-02 to 11:17 on NOW's day: these windows hold hundreds
# to thousands of entries, the last one ends exactly at NOW (the newest entries included).
WINDOW = {"since": "2026-10-01T00:00:00Z", "until": "2026-11-25T00:00:00Z"}
TO_NOW = {"since": "2026-09-01T00:00:00Z", "until": NOW}


def query(order="newest_first", window=None, **filters):
    options = dict(window or WINDOW, order=order, **filters)
    return Query.from_options(options, now=NOW_DT)


def read(emulator, q, max_retries=2, **kwargs):
    with client_for(emulator, max_retries=max_retries) as client:
        entries, report = client.read(q, page_size=kwargs.pop("page_size", 100), **kwargs)
    return entries, report, client


def both(emulator, q, parallelism=8, **kwargs):
    sequential, seq_report, dummy = read(emulator, q, parallelism=1, **kwargs)
    parallel, par_report, client = read(emulator, q, parallelism=parallelism, **kwargs)
    return sequential, seq_report, parallel, par_report, client


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
@pytest.mark.parametrize("window", [WINDOW, TO_NOW])
def test_parallel_read_equals_the_sequential_read(emulator, order, window):
    sequential, seq_report, parallel, report, dummy = both(emulator, query(order, window))
    assert len(sequential) > 300
    assert parallel == sequential  # entry for entry, in order
    assert report["matched"] == seq_report["matched"] == len(sequential)
    assert report["total_count"] == seq_report["total_count"]
    if emulator.info["api"] == "2026-08":
        assert report["parallel"]["used"] is True and report["parallel"]["slices"] >= 2
        assert report["order"]["observed"] == order
    else:
        # The seed generation ignores the bounds: found out from its answers, then sequential.
        assert report["parallel"]["used"] is False
        assert "does not honour created_at_min/created_at_max" in report["parallel"]["reason"]


def test_seed_fallback_costs_no_more_than_the_detection(emulator_seed):
    emulator_seed.reset()
    dummy, seq_report, dummy, report, dummy = both(emulator_seed, query(window=TO_NOW))
    # Every probe beyond the window's first page (reused by the sequential read) is counted.
    assert report["pages"] == seq_report["pages"] + report["parallel"]["probes"]
    assert report["parallel"]["probes"] <= slices.MAX_SPLIT


def test_slices_are_balanced_by_the_servers_counts(api):
    dummy, seq_report, parallel, report, dummy = both(api, query(window=TO_NOW), parallelism=4)
    assert report["parallel"]["slices"] >= 4
    # Every slice's probe is its first page: beyond the sequential pages a slice costs at most
    # its last partial page, and only the ranges split again cost a spent page.
    assert report["pages"] <= seq_report["pages"] + report["parallel"]["slices"] \
        + report["parallel"]["probes"]
    assert report["parallel"]["probes"] < report["parallel"]["slices"]
    assert max(report["parallel"]["sizes"]) <= 2 * len(parallel) // report["parallel"]["slices"] + 200


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_filters_and_small_pages_keep_equality(api, order):
    q = query(order, TO_NOW, actor_type="user")
    sequential, dummy, parallel, report, dummy = both(api, q, parallelism=16, page_size=10)
    assert parallel == sequential and report["parallel"]["used"]


@pytest.mark.parametrize("rule", [
    {"kind": "status", "status": 503, "every": 5},
    {"kind": "status", "status": 500, "every": 7},
    {"kind": "rate_limit", "every": 6, "retry_after": 1},
])
def test_faults_do_not_change_the_result(api, rule):
    sequential, dummy, dummy, dummy, dummy = both(api, query(window=TO_NOW))
    api.faults(rule)
    # Rules count requests globally: with slices interleaved, one request may meet the fault
    # on consecutive attempts, so more retries than the default are allowed here.
    parallel, report, client = read(api, query(window=TO_NOW), parallelism=8, max_retries=10)
    assert parallel == sequential and report["parallel"]["used"]
    assert client.waits  # the faults were met and retried


def test_a_failing_slice_fails_the_read(api):
    api.faults({"kind": "status", "status": 500, "after": 20, "times": 100})
    with pytest.raises(ApiError):
        read(api, query(window=TO_NOW), parallelism=8)


def test_the_reader_stopping_early_stops_the_slices(api):
    q = query(window=TO_NOW)
    sequential, full_report, dummy = read(api, q, parallelism=1)
    api.reset()
    with client_for(api) as client:
        stream = iter(client.scan(q, parallelism=2, page_size=10))
        taken = [next(stream) for dummy in range(15)]
        stream.close()  # joins the workers: no request is sent after this
        sent = api.stats()["requests"]
    assert ids(taken) == ids(sequential[:15])
    assert sent < len(sequential) // 10  # far from every page of the window
    assert api.stats()["requests"] == sent


def test_max_results_reads_sequentially_and_resumes_exactly(emulator):
    q = query(window=TO_NOW)
    full, dummy, dummy = read(emulator, q, parallelism=1)
    first, report, dummy = read(emulator, q, parallelism=8, max_results=120)
    assert report["parallel"] == {"used": False, "probes": 0,
                                  "reason": slices.parallel_refusal(q, 8, 120, None)}
    assert report["truncated"] and first == full[:120]
    rest, report, dummy = read(emulator, q, parallelism=8, cursor=report["next_cursor"])
    assert "cursor" in report["parallel"]["reason"] and not report["parallel"]["used"]
    assert first + rest == full


def test_an_open_window_reads_sequentially_and_says_why(api):
    q = Query.from_options({"since": "2026-10-01T00:00:00Z"}, now=NOW_DT)
    entries, report, dummy = read(api, q, parallelism=8)
    assert report["parallel"]["used"] is False
    assert "not bounded" in report["parallel"]["reason"]
    assert entries == read(api, q, parallelism=1)[0]


def test_a_small_window_is_one_sequential_slice(api):
    q = query(window={"since": "2026-11-27T00:00:00Z", "until": NOW})
    entries, report, dummy = read(api, q, parallelism=8)
    assert not report["parallel"]["used"] and "too few" in report["parallel"]["reason"]
    assert report["pages"] == read(api, q, parallelism=1)[1]["pages"]


def test_spilled_slices_stream_the_same_entries(api, monkeypatch):
    monkeypatch.setattr(spill, "SPILL_ENTRIES", 7)
    q = query(window=TO_NOW)
    with client_for(api) as client:
        scan = client.scan(q, parallelism=8, spill=True)
        streamed = list(scan)
    assert streamed == read(api, q, parallelism=1)[0]
    assert scan.report["parallel"]["used"]


def test_a_spilling_buffer_keeps_only_a_block_in_memory_and_gives_back_every_entry(monkeypatch):
    monkeypatch.setattr(spill, "SPILL_ENTRIES", 7)
    kept = [{"id": "e%d" % n, "n": n, "big": 10 ** 30 + n, "ratio": n / 3.0, "flag": n % 2 == 0,
             "none": None, "text": u"caf\u00e9 \U0001f600 %d" % n, "list": [n, {"deep": [n]}]}
            for n in range(23)]
    buffer = spill.SliceBuffer(spill=True)
    for entry in kept:
        buffer.add(entry)
    assert len(buffer._memory) == 23 % 7  # pylint: disable=protected-access
    assert list(flattened(buffer.batches())) == kept
    buffer.close()
    in_memory = spill.SliceBuffer(spill=False)
    for entry in kept:
        in_memory.add(entry)
    assert in_memory._file is None and list(flattened(in_memory.batches())) == kept  # pylint: disable=protected-access


def test_an_entry_too_deep_to_spill_is_a_bad_response(monkeypatch):
    monkeypatch.setattr(spill, "SPILL_ENTRIES", 1)
    deep = []
    for dummy in range(5000):
        deep = [deep]
    buffer = spill.SliceBuffer(spill=True)
    with pytest.raises(BadResponseError) as err:
        buffer.add({"id": "x", "deep": deep})
    assert "nested too deeply" in str(err.value)


def test_prefetch_wraps_only_a_sequential_fallback(emulator_seed, api, monkeypatch):
    """Slices run ahead of the reader by themselves; a read that fell back to one cursor chain
    gets the prefetch thread the export asked for."""
    made = []
    original = slices.Prefetched
    monkeypatch.setattr(slices, "Prefetched", lambda scan: made.append(scan) or original(scan))
    q = query(window=TO_NOW)
    with client_for(emulator_seed) as client:
        fallback = client.scan(q, parallelism=8, prefetch=True)
        seed_entries = list(fallback)
    assert fallback.report["parallel"]["used"] is False and len(made) == 1
    with client_for(api) as client:
        sliced = client.scan(q, parallelism=8, prefetch=True)
        entries = list(sliced)
    assert sliced.report["parallel"]["used"] is True and len(made) == 1
    assert seed_entries == read(emulator_seed, q, parallelism=1)[0]
    assert entries == read(api, q, parallelism=1)[0]


@pytest.mark.parametrize("value", [0, 17, True, "8", None])
def test_parallelism_out_of_bounds_is_refused(value):
    with pytest.raises(InvalidOption) as err:
        slices.parallel_refusal(query(), value, None, None)
    assert "parallelism" in str(err.value)


def test_one_wait_holds_every_other_worker():
    now, slept = [100.0], []
    gate = workers.BackoffGate(lambda: now[0], slept.append)
    first, other = object(), object()
    gate.hold(2.5, first)
    gate.pass_through(first)  # the one that waited has already slept its wait
    assert slept == []
    now[0] += 1.0
    gate.pass_through(other)
    assert slept == [1.5]
    now[0] += 2.0
    gate.pass_through(other)
    assert slept == [1.5]


def test_sibling_transports_share_the_key_holder_not_the_session(api):
    with client_for(api) as client:
        base = client.transport
        twin = base.sibling()
        try:
            assert twin.session is not base.session
            assert twin._auth is base._auth  # pylint: disable=protected-access
            assert twin.base_url == base.base_url and twin.timeout == base.timeout
            assert "Authorization" not in twin.session.headers
        finally:
            twin.close()
