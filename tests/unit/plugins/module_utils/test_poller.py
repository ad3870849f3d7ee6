# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The poller behind the event source: exactly once across overlapping polls, ties, late
arrivals, clock offsets, failures and restarts, with an injected clock and a fake API whose
entries become listed at chosen instants; then once against the emulator, through the client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import random
import stat

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    BadResponseError,
    InvalidOption,
    RateLimitedError,
    TLSError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.outage import (
    Outage,
    is_fatal,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import load_state
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    client_for,
    start_emulator,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.poller_model import (
    T0,
    Clock,
    ModelApi,
    Stopped,
    at,
    deliver,
)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def api(clock):
    return ModelApi(clock)


def test_new_entries_once_oldest_first_across_overlapping_polls(clock, api):
    api.add("old", at(-1))  # before the start ('since' defaults to now): never delivered
    poller = AuditLogPoller(api, settle=30, interval=5, clock=clock)
    api.add("b", at(2))
    api.add("a", at(1))
    clock.advance(3)
    assert deliver(poller) == ["a", "b"]
    api.add("c", at(4))
    seen = []
    for dummy in range(10):  # each of these polls re-reads a, b and c (within settle)
        clock.advance(5)
        seen.extend(deliver(poller))
    assert seen == ["c"]
    assert all(q.server_params()["created_at_min"] <= "2026-12-01T08:00:01Z" for q in api.queries[:7])


def test_entries_sharing_a_second_listed_in_different_polls(clock, api):
    poller = AuditLogPoller(api, settle=10, clock=clock)
    api.add("x2", at(5), listed=at(5.2))
    api.add("x1", at(5), listed=at(8))   # same second, smaller id, listed three seconds later
    clock.advance(6)
    first = deliver(poller)
    clock.advance(6)
    assert (first, deliver(poller)) == (["x2"], ["x1"])
    clock.advance(60)
    assert deliver(poller) == [] and poller.checkpoint.sent == {}


def test_late_arrival_within_settle_and_api_clock_behind_ours(clock, api):
    poller = AuditLogPoller(api, settle=20, clock=clock)
    delivered = []
    # listed 19 s after its created_at (late ingestion), and an API clock 15 s behind ours
    api.add("late", at(1), listed=at(20))
    for second in range(2, 40, 2):
        api.add("skew%02d" % second, at(second - 15 if second > 15 else second), listed=at(second))
    for dummy in range(30):
        clock.advance(2)
        delivered.extend(deliver(poller))
    expected = {"late"} | {"skew%02d" % s for s in range(2, 40, 2)}
    assert sorted(delivered) == sorted(expected)  # all of them, none twice


def test_an_entry_listed_later_than_settle_is_outside_the_guarantee(clock, api):
    """The assumption is necessary: this is what a too small ``settle`` costs."""
    poller = AuditLogPoller(api, settle=5, clock=clock)
    api.add("too-late", at(1), listed=at(20))
    delivered = []
    for dummy in range(15):
        clock.advance(2)
        delivered.extend(deliver(poller))
    assert delivered == []


def test_memory_is_bounded_to_the_settle_window(clock, api):
    poller = AuditLogPoller(api, settle=10, interval=1, clock=clock)
    sizes = []
    for second in range(1, 200):
        for n in range(5):
            api.add("e%03d-%d" % (second, n), at(second - 0.5))
        clock.advance(1)
        assert len(deliver(poller)) == 5
        sizes.append(len(poller.checkpoint.sent))
    # ids of the last settle + one interval seconds, 5 per second, whatever the history
    assert max(sizes[20:]) <= 5 * 12 and min(sizes[20:]) >= 5 * 10


def test_a_failed_poll_moves_nothing_and_the_next_one_catches_up(clock, api):
    poller = AuditLogPoller(api, settle=5, clock=clock)
    api.add("a", at(1))
    clock.advance(2)
    assert deliver(poller) == ["a"]
    watermark = poller.checkpoint.watermark
    api.add("b", at(3))
    api.failures = [TransportError("connection reset")] * 20
    for dummy in range(20):  # a long outage
        clock.advance(5)
        with pytest.raises(TransportError):
            deliver(poller)
    assert poller.checkpoint.watermark == watermark
    clock.advance(5)
    assert deliver(poller) == ["b"]


def test_a_backlog_is_read_in_batches_in_order(clock, api):
    for n in range(23):
        api.add("h%02d" % n, at(-3600 + n * 10 // 3))  # three or four per ten seconds: ties
    poller = AuditLogPoller(api, since="2h", settle=5, batch=4, clock=clock)
    watermarks = []
    poll = poller.start_poll()
    delivered = []
    while True:
        batch = poll.next_batch()
        if batch is None:
            break
        for entry in batch.entries:
            delivered.append(entry["id"])
            poller.delivered(entry)
        poller.commit(batch)
        watermarks.append(poller.checkpoint.watermark)
    assert delivered == ["h%02d" % n for n in range(23)]
    assert watermarks == sorted(watermarks) and watermarks[0] < watermarks[-1] == at(-5)


def test_ordered_holds_entries_until_settled(clock, api):
    poller = AuditLogPoller(api, settle=10, ordered=True, clock=clock)
    api.add("first", at(2), listed=at(9))   # listed late, after the newer one
    api.add("second", at(5), listed=at(5))
    delivered = []
    for dummy in range(10):
        clock.advance(2)
        delivered.append(deliver(poller))
    flat = [i for batch in delivered for i in batch]
    assert flat == ["first", "second"]
    # each is released by the first poll at least settle seconds after its created_at (14 s,
    # 16 s), although 'second' was listed first
    assert delivered == [[]] * 6 + [["first"], ["second"]] + [[]] * 2
    assert poller.checkpoint.sent == {}


def test_filters_are_pushed_down_and_rechecked(clock, api):
    poller = AuditLogPoller(api, filters={"action": "vm.deleted", "actor_type": ["api_key"]},
                            settle=5, clock=clock)
    api.add("hit", at(1), action="vm.deleted", actor={"type": "api_key", "id": "k"})
    api.add("miss", at(2), action="vm.deleted", actor={"type": "user", "id": "u"})
    clock.advance(3)
    assert deliver(poller) == ["hit"]
    params = api.queries[-1].server_params()
    assert params["action"] == "vm.deleted" and params["actor_type"] == "api_key"
    assert api.queries[-1].sort_param() == "created_at:asc"


def test_restart_from_the_state_file_has_no_gap_and_no_duplicate(clock, api, tmp_path):
    state = str(tmp_path / "audit.state")
    first = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    api.add("a", at(1))
    api.add("b", at(2))
    clock.advance(3)
    assert deliver(first) == ["a", "b"]
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    saved = json.load(open(state))
    assert set(saved) == {"version", "watermark", "sent"}
    assert [s["id"] for s in saved["sent"]] == ["a", "b"]
    api.add("c", at(4))  # created while stopped
    clock.advance(60)
    first.close()
    second = AuditLogPoller(api, since="now", settle=30, state_file=state, clock=clock)
    assert second.resumed
    assert deliver(second) == ["c"]
    assert sorted(os.listdir(str(tmp_path))) == [
        "audit.state", "audit.state.journal", "audit.state.lock"]


def test_commit_refuses_a_batch_not_delivered_in_full(clock, api):
    poller = AuditLogPoller(api, settle=30, clock=clock)
    api.add("a", at(1))
    clock.advance(2)
    batch = poller.start_poll().next_batch()
    with pytest.raises(ValueError):
        poller.commit(batch)
    assert poller.checkpoint.watermark == T0


def test_a_failed_save_keeps_the_previous_state(clock, api, tmp_path, monkeypatch):
    state = str(tmp_path / "s.json")
    poller = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    api.add("a", at(1))
    clock.advance(2)
    deliver(poller)
    before = open(state).read()
    api.add("b", at(3))
    clock.advance(2)

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        deliver(poller)
    assert open(state).read() == before
    assert sorted(os.listdir(str(tmp_path))) == ["s.json", "s.json.journal", "s.json.lock"]
    monkeypatch.undo()
    poller.close()
    # 'b' was handed over before the save failed: its journal record keeps it from coming twice
    restarted = AuditLogPoller(api, settle=30, state_file=state, clock=clock)
    assert deliver(restarted) == [] and "b" in restarted.checkpoint.sent


@pytest.mark.parametrize("kwargs,option", [
    ({"settle": -1}, "settle"),
    ({"interval": 0}, "interval"),
    ({"interval": "soon"}, "interval"),
    ({"since": "yesterday"}, "since"),
    ({"filters": {"until": "1h"}}, "until"),
    ({"filters": {"status_code": ["6xx"]}}, "status_code"),
    ({"filters": {"actor_type": ["robot"]}}, "actor_type"),
    ({"batch": 0}, "batch"),
])
def test_bad_options_are_refused_before_any_request(clock, api, kwargs, option):
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, clock=clock, **kwargs)
    assert err.value.option == option and api.queries == []


def test_a_damaged_state_file_is_refused_with_its_name(clock, api, tmp_path):
    state = tmp_path / "bad.state"
    state.write_text("{\"version\": 1, \"watermark\": \"no\"}")
    with pytest.raises(InvalidOption) as err:
        AuditLogPoller(api, state_file=str(state), clock=clock)
    assert err.value.option == "state_file" and str(state) in str(err.value)
    assert load_state(str(tmp_path / "absent")) is None


@pytest.mark.parametrize("err,fatal", [
    (AuthError("invalid API key", 401), True),
    (AuthError("forbidden", 403), True),
    (ApiError("no such endpoint", 404), True),
    (ApiError("bad request", 422), True),
    (InvalidOption("base_url", "bad"), True),
    (TLSError("certificate verify failed"), True),
    (RateLimitedError("slow down", 429), False),
    (ApiError("unavailable", 503), False),
    (ApiError("conflict", 409), False),
    (TransportError("timed out"), False),
    (BadResponseError("not JSON"), False),
])
def test_which_errors_stop_the_source(err, fatal):
    assert is_fatal(err) is fatal


def test_outage_logs_powers_of_two_and_the_recovery(clock):
    outage = Outage(clock=clock)
    said = []
    for dummy in range(9):
        clock.advance(5)
        said.append(outage.failed(TransportError("connection refused")))
    assert [i + 1 for i, m in enumerate(said) if m] == [1, 2, 4, 8]
    assert "8 in a row, for 35s): connection refused" in said[7]
    assert "after 9 failed poll(s) over 40s" in outage.recovered()
    assert outage.recovered() is None


def test_random_histories_with_restarts_deliver_each_entry_exactly_once(tmp_path, monkeypatch):
    """Many entries, ties, late listing within settle, random poll gaps, failures and
    restarts from the state file, also in the middle of a batch: every entry created after
    the start, exactly once."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # logic here, not durability
    for seed in range(12):
        rng = random.Random(seed)
        clock = Clock()
        api = ModelApi(clock)
        state = str(tmp_path / ("s%d" % seed))
        settle = rng.choice([3, 10, 30])
        for n in range(200):
            created = at(rng.uniform(-20, 300))
            lag = rng.uniform(0, settle - 1)
            api.add("e%03d" % n, created, listed=created + datetime.timedelta(seconds=lag))
        poller = AuditLogPoller(api, settle=settle, state_file=state, batch=rng.choice([7, 500]),
                                clock=clock)
        delivered = []
        while clock.now < at(400):
            clock.advance(rng.uniform(0.5, 8))
            if rng.random() < 0.1:
                api.failures.append(TransportError("reset"))
            if rng.random() < 0.1:
                poller.close()
                poller = AuditLogPoller(api, settle=settle, state_file=state, clock=clock)
            stop_after = rng.choice([None, None, 0, 1, 3])
            try:
                delivered.extend(deliver(poller, stop_after))
            except TransportError:
                pass
            except Stopped as stop:  # stopped mid-poll: the next round starts from the file
                delivered.extend(stop.delivered)
                poller.close()
                poller = AuditLogPoller(api, settle=settle, state_file=state, clock=clock)
        expected = sorted(e["id"] for e, listed in api.rows
                          if Query.entry_time(e) >= T0)
        assert sorted(delivered) == expected, seed
        assert len(poller.checkpoint.sent) < 100


@pytest.fixture
def live_emulator():
    """An emulator of its own: the entries added here must not reach the shared ones."""
    emulator = start_emulator("--entries", "50")
    yield emulator
    emulator.stop()


def test_against_the_emulator_through_the_client(live_emulator):
    def add(**entry):
        return live_emulator._admin("POST", "entries", json=entry)["items"][0]
    with client_for(live_emulator) as client:
        poller = AuditLogPoller(client, filters={"action": ["vm.deleted"]}, settle=30)
        made = [add(), add(action="vm.created"), add()]
        # creation order; entries of one second (likely here) by id, as the API sorts them
        expected = sorted([made[0], made[2]], key=lambda e: (e["created_at"], e["id"]))
        assert deliver(poller) == [e["id"] for e in expected]
        made.append(add())
        assert deliver(poller) == [made[3]["id"]]
    sent = [r["query"] for r in live_emulator.requests_log()]
    assert all("sort=created_at%3Aasc" in q and "action=vm.deleted" in q
               and "created_at_min=" in q for q in sent)
