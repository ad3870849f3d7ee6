# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The poller's exactly-once guarantee under attack (issue 20): ties across batches in ordered
mode, cursor cycles and endless cursors, entries dated in the future, the state's cost per
event, entries without an id, two sources on one state file, expired cursors, hostile state
files, a server that ignores filters and sort. Every case drives the real Scan over the model
API of ``poller_model``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import threading

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    BadResponseError,
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.outage import is_fatal
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.poller_model import (
    T0,
    Clock,
    ModelApi,
    at,
)


class Endless(AssertionError):
    """A poll that would not end."""


def deliver(poller, max_batches=200):
    """One poll as the source runs it; a poll of more than ``max_batches`` batches fails."""
    delivered = []
    poll = poller.start_poll()
    for dummy in range(max_batches):
        batch = poll.next_batch()
        if batch is None:
            return delivered
        for entry in batch.entries:
            delivered.append(entry.get("id"))
            poller.delivered(entry)
        poller.commit(batch)
    raise Endless("the poll did not end after %d batches (%d entries delivered)"
                  % (max_batches, len(delivered)))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def api(clock):
    return ModelApi(clock)


@pytest.mark.parametrize("ordered", [False, True])
def test_ties_across_batches_are_delivered_in_both_modes(clock, api, ordered):
    """1,200 entries in one second, then seconds of 7, with batches of 500 and pages of 100:
    every entry once, and in strict (created_at, id) order with ``ordered``."""
    for n in range(1200):
        api.add("t%04d" % n, at(-600))
    for second in range(60):
        for n in range(7):
            api.add("s%02d-%d" % (second, n), at(-500 + second))
    poller = AuditLogPoller(api, since="1h", settle=5, batch=500, ordered=ordered, clock=clock)
    delivered = deliver(poller)
    expected = [e["id"] for e, dummy in sorted(api.rows, key=lambda row: (
        row[0]["created_at"], row[0]["id"]))]
    assert sorted(delivered) == sorted(expected)
    if ordered:
        assert delivered == expected
    clock.advance(30)
    assert deliver(poller) == []


def test_a_cursor_cycle_ends_the_poll_once_and_delivers_each_entry_once(clock, api):
    for n in range(1000):
        api.add("c%04d" % n, at(-900 + n // 2))
    api.cycle_after = 7  # page 7 points back to page 2, for ever
    poller = AuditLogPoller(api, since="1h", settle=5, batch=50, clock=clock)
    delivered = []
    with pytest.raises(BadResponseError) as err:
        delivered.extend(deliver(poller))
    assert "already returned" in str(err.value) and not is_fatal(err.value)
    assert len(api.requests) == 7  # the seventh page points back to the second
    clock.advance(5)
    for dummy in range(3):  # later polls read on from the watermark; nothing comes twice
        try:
            delivered.extend(deliver(poller))
        except BadResponseError:
            pass
        clock.advance(5)
    assert len(delivered) == len(set(delivered))


def test_endless_cursors_and_future_entries_keep_memory_and_state_bounded(clock, api, tmp_path):
    counter = iter(range(10 ** 9))

    def endless_page(page):
        # fresh ids on every page: ten dated a day ahead, and ten from now
        now = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        return ([{"id": "f%09d" % next(counter), "created_at": "2026-12-02T08:00:00Z"}
                 for dummy in range(10)]
                + [{"id": "n%09d" % next(counter), "created_at": now} for dummy in range(10)])
    api.endless = endless_page
    state = str(tmp_path / "state")
    poller = AuditLogPoller(api, settle=10, interval=5, state_file=state, max_pages=20,
                            max_remembered=500, clock=clock)
    sizes = []
    for dummy in range(12):
        clock.advance(5)
        poll = poller.start_poll()
        batch = poll.next_batch()  # what twenty pages held, then the poll fails, clearly
        delivered = [e["id"] for e in batch.entries]
        for entry in batch.entries:
            poller.delivered(entry)
        poller.commit(batch)
        with pytest.raises(BadResponseError) as err:
            poll.next_batch()
        assert "does not list entries oldest first" in str(err.value)
        assert len(delivered) == 200 and all(i.startswith("n") for i in delivered)
        sizes.append(len(poller.checkpoint.sent))
    # the order is never verified, so the watermark cannot move by itself: the cap holds it
    assert sizes[-1] == sizes[-4] and max(sizes) <= 500 + 200  # whole seconds kept at the cap
    assert os.path.getsize(state) < 700 * 60


def test_recording_an_event_costs_the_same_whatever_the_history(
        clock, api, tmp_path, monkeypatch):
    state = str(tmp_path / "state")
    poller = AuditLogPoller(api, settle=3600, state_file=state, clock=clock)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: replaced.append(b) or real_replace(a, b))
    journal = state + ".journal"
    growth = []
    for history in (0, 10000):
        for n in range(history):
            poller.checkpoint.sent["old%05d" % n] = T0
        before = os.path.getsize(journal) if os.path.exists(journal) else 0
        for n in range(20):
            poller.delivered({"id": "x%d-%02d" % (history // 10000, n),
                              "created_at": "2026-12-01T08:00:00Z"})
        growth.append(os.path.getsize(journal) - before)
    assert replaced == []  # no snapshot is rewritten per event
    assert growth[0] == growth[1] < 20 * 64  # one short line per event, whatever came before


def test_entries_without_an_id_are_delivered_once_and_never_break_the_state(
        clock, api, tmp_path):
    state = str(tmp_path / "state")
    poller = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    api.add(None, at(1), action="vm.created")
    api.add("", at(1), action="vm.started")
    api.add("real", at(1))
    api.add(None, at(1), listed=at(4), action="vm.deleted")  # same second, listed later
    clock.advance(3)
    first = deliver(poller)
    clock.advance(3)
    second = deliver(poller)
    assert sorted(first, key=str) == ["", None, "real"] and second == [None]
    saved = json.load(open(state))
    assert all(isinstance(s["id"], str) and s["id"] for s in saved["sent"])
    poller.close()
    clock.advance(5)
    restarted = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    assert deliver(restarted) == []


def test_a_second_source_on_one_state_file_is_refused(clock, api, tmp_path):
    state = str(tmp_path / "state")
    first = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    assert "in use by another running source" in str(err.value) and state in str(err.value)
    first.close()
    AuditLogPoller(api, settle=30, state_file=state, clock=clock).close()


def test_a_planted_link_as_lock_or_journal_is_refused(clock, api, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    for suffix in (".lock", ".journal"):
        state = str(tmp_path / ("state" + suffix.replace(".", "-")))
        os.symlink(str(target), state + suffix)
        with pytest.raises(InvalidOption) as err:
            AuditLogPoller(api, settle=30, state_file=state, clock=clock)
        assert "symbolic link" in str(err.value)
    assert target.read_text() == ""


def test_an_expired_cursor_restarts_the_poll_from_the_watermark(clock, api):
    for n in range(250):
        api.add("e%03d" % n, at(-100 + n // 10))
    api.expired = 1  # the second page answers 400 once
    poller = AuditLogPoller(api, since="1h", settle=5, batch=100, clock=clock)
    delivered = deliver(poller)
    assert sorted(delivered) == ["e%03d" % n for n in range(250)]
    api.expired = 10  # expired for good: the poll fails, not the source
    for n in range(250, 500):
        api.add("e%03d" % n, at(1))
    clock.advance(5)
    with pytest.raises(BadResponseError) as err:
        deliver(poller)
    assert "expired" in str(err.value) and not is_fatal(err.value)


def test_a_state_in_the_future_is_refused_with_a_clear_message(clock, api, tmp_path):
    state = tmp_path / "state"
    state.write_text(json.dumps({"version": 1, "watermark": "2026-12-01T09:00:00Z", "sent": []}))
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, settle=30, state_file=str(state), clock=clock)
    assert "ahead of this host's clock" in str(err.value)
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, settle=30, since="2026-12-02", clock=clock)
    assert err.value.option == "since"


@pytest.mark.parametrize("content,says", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"version": 1, "watermark": "2026-12-01T07:00:00Z", "sent": [{"id": null,'
     b' "created_at": "2026-12-01T07:00:00Z"}]}', "without its created_at"),
], ids=["not-utf8", "deep", "null-id"])
def test_a_crafted_state_file_gets_a_clear_message(clock, api, tmp_path, content, says):
    state = tmp_path / "state"
    state.write_bytes(content)
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, settle=30, state_file=str(state), clock=clock)
    assert says in str(err.value) and str(state) in str(err.value)


def test_special_files_as_state_are_refused_at_once(clock, api, tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    link = str(tmp_path / "zero")
    os.symlink("/dev/zero", link)
    outcomes = {}

    def start(path):
        try:
            AuditLogPoller(api, settle=30, state_file=path, clock=clock)
        except InvalidOption as err:
            outcomes[path] = str(err)
    for path in (fifo, link):
        thread = threading.Thread(target=start, args=(path,))
        thread.daemon = True
        thread.start()
        thread.join(20)  # a guard against a hang, not a timing
        assert not thread.is_alive(), "reading %s hangs" % path
    assert "not a regular file" in outcomes[fifo] and "symbolic link" in outcomes[link]


def test_stale_temporary_files_of_a_killed_source_are_removed_at_start(clock, api, tmp_path):
    state = str(tmp_path / "state.json")
    for name in (".state.json.a1b2c3d4.tmp", ".state.json.zz_9yy8x.tmp"):
        (tmp_path / name).write_text("{")
    (tmp_path / ".state.json.keep.tmp").write_text("mine")
    (tmp_path / ".other.a1b2c3d4.tmp").write_text("not ours")
    AuditLogPoller(api, settle=30, state_file=state, clock=clock).close()
    assert sorted(os.listdir(str(tmp_path))) == [
        ".other.a1b2c3d4.tmp", ".state.json.keep.tmp", "state.json", "state.json.journal",
        "state.json.lock"]


def test_a_server_ignoring_filters_and_sort_is_read_back_to_the_watermark_only(clock, api):
    for n in range(3000):
        api.add("old%04d" % n, at(-86400 + n * 20))
    api.ignore_filters = api.ignore_sort = True  # the seed generation: newest first, no filter
    poller = AuditLogPoller(api, since="1h", settle=5, clock=clock)
    first = deliver(poller)
    assert sorted(first) == sorted(e["id"] for e, dummy in api.rows
                                   if e["created_at"] >= "2026-12-01T07:00:00Z")
    for n in range(5):
        api.add("new%d" % n, at(2))
    clock.advance(10)
    requests = len(api.requests)
    assert deliver(poller) == ["new%d" % n for n in range(5)]
    assert len(api.requests) - requests == 1  # one page back to the watermark, not 30
