# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acknowledged delivery in the event source (issue 22): with ``feedback``, an entry is
recorded only when ansible-rulebook acknowledges it, a batch is committed only when all of it
is, what is not acknowledged in time is sent again, and a stop records nothing in flight. The
engine here is a fake with ansible-rulebook's queues: one slot each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import logging
import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    event_source_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.acks import InFlight
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import (
    read_journal,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.poller_model import (
    Clock,
    ModelApi,
    at,
)

SOURCE = os.path.join(os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6)),
                      "extensions", "eda", "plugins", "event_source", "audit_log.py")


def load_source(path):
    namespace = {"__file__": path, "__name__": "<run_path>"}
    with open(path) as handle:
        exec(compile(handle.read(), path, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


PLUGIN = load_source(SOURCE)
GUARD = 20  # seconds: a hang fails the test instead of blocking the suite


def model(count, state_file=None, clock=None):
    clock = clock or Clock()
    api = ModelApi(clock)
    for n in range(count):
        api.add("e%04d" % n, at(-300 + n // 7))
    return api, clock


def poller_of(api, clock, state_file=None, batch=100):
    return AuditLogPoller(api, since="1h", settle=5, batch=batch, clock=clock,
                          state_file=state_file)


class Engine(object):
    """ansible-rulebook's side: takes events from the source's queue and puts each back on the
    feedback queue once ``decide(event_id, times_seen)`` says so (True: now; False: never;
    "later": after every event of the batch was taken, in reverse order)."""

    def __init__(self, decide=lambda entry_id, seen: True):
        self.events = asyncio.Queue(1)
        self.acks = asyncio.Queue(1)
        self.decide = decide
        self.taken = []
        self.held = []

    async def run(self):
        while True:
            event = await self.events.get()
            entry_id = event["audit_log"].get("id")
            self.taken.append(entry_id)
            verdict = self.decide(entry_id, self.taken.count(entry_id))
            if verdict is True:
                await self.acks.put(dict(event, meta={"uuid": entry_id}))
            elif verdict == "later":
                self.held.append(event)

    async def release_held(self):
        while self.held:
            await self.acks.put(self.held.pop())


async def run_poll(engine, poller, timeout=60, extra=None):
    feedback = PLUGIN["_Feedback"](engine.acks, poller, InFlight(timeout))
    consumer = asyncio.ensure_future(engine.run())
    helpers = [asyncio.ensure_future(extra(engine))] if extra else []
    try:
        await asyncio.wait_for(
            PLUGIN["_poll_once"](engine.events, poller, asyncio.get_running_loop(), feedback),
            GUARD)
    finally:
        feedback.stop()
        for task in [consumer] + helpers:
            task.cancel()
    return feedback


async def stopped_once_taken(engine, poller, count):
    """Poll with feedback until the engine has taken ``count`` events, let it settle, then stop
    the source as a kill would (nothing in flight recorded); returns the ``_Feedback``."""
    feedback = PLUGIN["_Feedback"](engine.acks, poller, InFlight(3600))
    consumer = asyncio.ensure_future(engine.run())
    task = asyncio.ensure_future(PLUGIN["_poll_once"](
        engine.events, poller, asyncio.get_running_loop(), feedback))
    while len(engine.taken) < count:
        await asyncio.sleep(0)
    for dummy in range(50):
        await asyncio.sleep(0)
    task.cancel()  # the source is stopped
    feedback.stop()
    consumer.cancel()
    await asyncio.gather(task, consumer, return_exceptions=True)
    return feedback


def test_every_acknowledged_entry_is_recorded_and_the_batch_committed(tmp_path):
    api, clock = model(250)
    state = str(tmp_path / "state")
    poller = poller_of(api, clock, state)
    before = poller.checkpoint.watermark
    engine = Engine()
    feedback = asyncio.run(run_poll(engine, poller))
    assert engine.taken == ["e%04d" % n for n in range(250)]
    assert feedback.in_flight.acked == 250 and feedback.in_flight.ignored == 0
    assert poller.checkpoint.watermark > before
    poller.close()
    assert read_journal(state + ".journal") == []  # committed: compacted into the snapshot


def test_events_are_pipelined_not_sent_one_acknowledgement_at_a_time():
    api, clock = model(30)
    poller = poller_of(api, clock)
    start = poller.checkpoint.watermark
    # The engine acknowledges nothing until it has taken the whole batch: a source that waited
    # for each acknowledgement before the next put would never finish.
    engine = Engine(lambda entry_id, seen: "later")

    async def release(engine):
        while len(engine.taken) < 30:
            await asyncio.sleep(0)
        await engine.release_held()
    feedback = asyncio.run(run_poll(engine, poller, extra=release))
    assert engine.taken == ["e%04d" % n for n in range(30)]
    assert feedback.in_flight.acked == 30 and poller.checkpoint.watermark > start


def test_nothing_unacknowledged_is_recorded_nor_committed_and_a_restart_sends_it_again(
        tmp_path):
    api, clock = model(40)
    state = str(tmp_path / "state")
    poller = poller_of(api, clock, state, batch=10)
    start = poller.checkpoint.watermark
    never = {"e0013", "e0017"}
    engine = Engine(lambda entry_id, seen: entry_id not in never)

    # the second batch handed over, two never acknowledged
    feedback = asyncio.run(stopped_once_taken(engine, poller, 20))
    assert feedback.in_flight.acked == 18
    assert never.isdisjoint(poller.checkpoint.sent)
    first_batch = poller.checkpoint.watermark
    assert first_batch > start  # batch 1 committed, batch 2 not: W stays before 13 and 17
    poller.close()

    restarted = poller_of(api, clock, state, batch=10)
    assert restarted.checkpoint.watermark == first_batch
    engine = Engine()
    asyncio.run(run_poll(engine, restarted))
    assert engine.taken == ["e0013", "e0017"] + ["e%04d" % n for n in range(20, 40)]
    restarted.close()


def test_an_entry_not_acknowledged_in_time_is_sent_again_with_a_warning(caplog):
    api, clock = model(5)
    poller = poller_of(api, clock)
    # e0002's first acknowledgement is lost (the engine failed on it); the second comes.
    engine = Engine(lambda entry_id, seen: entry_id != "e0002" or seen > 1)
    with caplog.at_level(logging.WARNING):
        feedback = asyncio.run(run_poll(engine, poller, timeout=0.05))
    assert engine.taken == ["e0000", "e0001", "e0002", "e0003", "e0004", "e0002"]
    assert feedback.in_flight.redelivered == 1 and feedback.in_flight.acked == 5
    assert "1 event not acknowledged within 0.05s, sent again (the first: e0002)" in caplog.text
    assert feedback.in_flight.ignored == 0 and len(feedback.in_flight) == 0


def test_unknown_and_repeated_acknowledgements_are_ignored(caplog):
    api, clock = model(3)
    poller = poller_of(api, clock)
    engine = Engine()

    async def noise(engine):
        await engine.acks.put({"audit_log": {"id": "not-ours"}})
        await engine.acks.put({"something": "else"})
    with caplog.at_level(logging.DEBUG):
        feedback = asyncio.run(run_poll(engine, poller, extra=noise))
    assert feedback.in_flight.acked == 3 and feedback.in_flight.ignored == 2
    assert "not-ours" not in poller.checkpoint.sent
    assert "acknowledgement for no event in flight ignored" in caplog.text


def test_a_failing_record_fails_the_poll_rather_than_hanging():
    api, clock = model(3)
    poller = poller_of(api, clock)

    def broken(entry):
        raise InvalidOption("state_file", "cannot write its journal: disk full")
    poller.delivered = broken
    with pytest.raises(InvalidOption, match="disk full"):
        asyncio.run(run_poll(Engine(), poller))


def test_without_feedback_an_entry_is_recorded_when_put():
    api, clock = model(3)
    poller = poller_of(api, clock)

    async def scenario():
        queue = asyncio.Queue(1)
        task = asyncio.ensure_future(PLUGIN["_poll_once"](queue, poller,
                                                          asyncio.get_running_loop()))
        taken = []
        while len(taken) < 3:
            taken.append((await queue.get())["audit_log"]["id"])
            await asyncio.sleep(0)
        await asyncio.wait_for(task, GUARD)
        return taken
    assert asyncio.run(scenario()) == ["e0000", "e0001", "e0002"]
    assert poller.checkpoint.watermark > at(-300)


ARGS = {"api_key": "k"}


def test_feedback_without_a_queue_fails_at_start_naming_persistence_id():
    connection, filters, source = event_source_arguments(dict(ARGS, feedback=True))
    with pytest.raises(InvalidOption, match="--persistence-id") as caught:
        PLUGIN["_feedback_settings"](source, dict(ARGS, feedback=True))
    assert str(caught.value).startswith("feedback: ")
    queue = object()
    source = event_source_arguments(dict(ARGS, feedback="yes", eda_feedback_queue=queue))[2]
    assert PLUGIN["_feedback_settings"](source, {"eda_feedback_queue": queue}) == (queue, 300)
    assert "feedback" not in source and "feedback_timeout" not in source  # not the poller's


def test_main_fails_at_start_without_a_feedback_queue():
    async def scenario():
        await PLUGIN["main"](asyncio.Queue(1), dict(ARGS, feedback=True,
                                                    base_url="http://127.0.0.1:9"))
    with pytest.raises(InvalidOption, match="no feedback queue"):
        asyncio.run(scenario())


@pytest.mark.parametrize("given, seconds", [(30, 30), ("30", 30), ("30s", 30), ("5m", 300),
                                            ("1.5h", 5400), (None, 300)])
def test_feedback_timeout_takes_the_collection_durations(given, seconds):
    args = dict(ARGS, feedback_timeout=given) if given is not None else ARGS
    assert event_source_arguments(args)[2]["feedback_timeout"] == seconds


@pytest.mark.parametrize("given, message", [("soon", "not a duration"), ("0", "from 1 to"),
                                            ("2d", "from 1 to 86400"), (True, "duration")])
def test_a_bad_feedback_timeout_is_refused_with_its_name(given, message):
    with pytest.raises(InvalidOption, match=message) as caught:
        event_source_arguments(dict(ARGS, feedback_timeout=given))
    assert str(caught.value).startswith("feedback_timeout: ")
