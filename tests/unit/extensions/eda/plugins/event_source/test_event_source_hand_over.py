# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand-over of the event source (issue 20): ``await queue.put`` instead of polling a full
queue, an event recorded exactly when it was put (cancellations and stop signals included),
and a cancelled source that does not wait for a request in flight."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import os
import signal
import threading

from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.poller_model import (
    Clock,
    ModelApi,
    at,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")


def load_source(path):
    namespace = {"__file__": path, "__name__": "<run_path>"}
    with open(path) as handle:
        exec(compile(handle.read(), path, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


PLUGIN = load_source(SOURCE)


def poller_with(count):
    clock = Clock()
    api = ModelApi(clock)
    for n in range(count):
        api.add("e%04d" % n, at(-300 + n // 7))
    return AuditLogPoller(api, since="1h", settle=5, batch=100, clock=clock), api


def test_a_prompt_consumer_gets_every_event_without_the_source_sleeping(monkeypatch):
    poller, dummy = poller_with(300)
    sleeps = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay, *args):
        sleeps.append(delay)
        await real_sleep(0)
    monkeypatch.setattr(asyncio, "sleep", recording_sleep)

    async def scenario():
        queue = asyncio.Queue(1)  # ansible-rulebook's: one slot
        got = []

        async def consume():
            while True:
                got.append((await queue.get())["audit_log"]["id"])
        consumer = asyncio.ensure_future(consume())
        await PLUGIN["_poll_once"](queue, poller, asyncio.get_running_loop())
        while not queue.empty():
            await real_sleep(0)
        await real_sleep(0)
        consumer.cancel()
        return got

    got = asyncio.run(scenario())
    assert got == ["e%04d" % n for n in range(300)]
    assert sleeps == []  # waiting for room is an awaited put, never a timed retry


def _full_queue():
    queue = asyncio.Queue(1)
    queue.put_nowait({"audit_log": {"id": "earlier"}})
    return queue


def test_recorded_exactly_when_put_whatever_cancels_the_wait():
    poller, dummy = poller_with(0)
    entry = {"id": "x", "created_at": "2026-12-01T08:00:00Z"}

    async def cancel_while_waiting():
        queue = _full_queue()
        task = asyncio.ensure_future(PLUGIN["_hand_over"](queue, poller, entry))
        await asyncio.sleep(0)
        task.cancel()
        outcome = await asyncio.gather(task, return_exceptions=True)
        return queue, outcome

    async def cancel_as_room_appears():
        queue = _full_queue()
        task = asyncio.ensure_future(PLUGIN["_hand_over"](queue, poller, entry))
        await asyncio.sleep(0)
        queue.get_nowait()  # room: the waiting put is woken...
        task.cancel()       # ...and cancelled before it runs
        outcome = await asyncio.gather(task, return_exceptions=True)
        return queue, outcome

    for scenario in (cancel_while_waiting, cancel_as_room_appears):
        queue, outcome = asyncio.run(scenario())
        assert isinstance(outcome[0], asyncio.CancelledError)
        queued = [queue.get_nowait()["audit_log"]["id"] for dummy in range(queue.qsize())]
        assert "x" not in queued and "x" not in poller.checkpoint.sent

    async def room_then_done():
        queue = _full_queue()
        task = asyncio.ensure_future(PLUGIN["_hand_over"](queue, poller, entry))
        await asyncio.sleep(0)
        queue.get_nowait()
        await task
        return queue
    assert asyncio.run(room_then_done()).get_nowait()["audit_log"] is entry
    assert "x" in poller.checkpoint.sent


def test_a_stop_signal_while_waiting_for_room_stops_at_once_with_nothing_put():
    poller, dummy = poller_with(0)
    entry = {"id": "y", "created_at": "2026-12-01T08:00:00Z"}
    order = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: order.append("signal"))

    async def scenario():
        queue = _full_queue()
        task = asyncio.ensure_future(PLUGIN["_hand_over"](queue, poller, entry))
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGTERM)
        dummy, pending = await asyncio.wait({task}, timeout=20)  # a guard against a hang
        task.cancel()
        outcome = await asyncio.gather(task, return_exceptions=True)
        return queue, outcome, pending
    try:
        queue, outcome, pending = asyncio.run(scenario())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not pending, "the hand-over went on waiting after the stop signal"
    assert isinstance(outcome[0], asyncio.CancelledError) and order == ["signal"]
    assert queue.qsize() == 1 and "y" not in poller.checkpoint.sent


def test_a_cancelled_source_does_not_wait_for_the_request_in_flight():
    poller, api = poller_with(0)
    release, finished = threading.Event(), threading.Event()
    real_get = api.get_json

    def slow_get(path, params):
        release.wait(15)  # a server that takes its time (a whole chain of retries)
        finished.set()
        return real_get(path, params)
    api.get_json = slow_get

    async def scenario():
        task = asyncio.ensure_future(
            PLUGIN["_poll_once"](asyncio.Queue(1), poller, asyncio.get_running_loop()))
        await asyncio.sleep(0.2)
        task.cancel()
        return await asyncio.gather(task, return_exceptions=True)
    try:
        outcome = asyncio.run(scenario())
        assert isinstance(outcome[0], asyncio.CancelledError)
        assert not finished.is_set()  # asyncio.run returned while the request still ran
    finally:
        release.set()
