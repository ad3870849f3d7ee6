# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acknowledged delivery, as a property (issue 22): a Hypothesis state machine runs the REAL
adapter (``_poll_once``, ``_hand_over``, ``_Feedback`` of the event source, stepped one event
loop iteration at a time) and the real poller with a state file, against the model API of
``poller_model`` and a model of ansible-rulebook's engine: one-slot queues, events taken,
then processed in any order, acknowledged at once, late or never. Entries appear, polls run,
time passes (the feedback timeout re-sends), and the whole process (source and engine) is
killed at any point and restarted from its state file.

With feedback: no entry is ever lost, and an entry the rules process twice is one they had
processed without its acknowledgement being recorded when a kill came (or one the timeout
sent again while a copy was still out), a set the model tracks exactly. Without feedback: no
entry is processed twice, and an entry is lost only when it was on the engine's queue or taken
but not processed when the kill came.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import collections
import datetime
import os
import shutil
import tempfile
from unittest import mock

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuditLogError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.acks import InFlight
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
    AuditLogPoller,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.poll import Poll
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
# The event source as ansible-rulebook loads it, run by path once for all the unit tests.
from ansible_collections.nirvana_labs.audit.tests.unit.extensions.eda.plugins.event_source.test_event_source_feedback import (  # noqa: E501
    PLUGIN,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.poller_model import (
    Clock,
    ModelApi,
)

SETTLE = 10
TIMEOUT = 60.0
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None


def read_in_loop(poll, callback):
    """The poll's read without its thread: the machine decides every step, so nothing may
    run outside the event loop it steps."""
    try:
        batch = poll.next_batch()
    except Exception as err:  # pylint: disable=broad-except
        callback(None, err)
    else:
        callback(batch, None)


class Ticks(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Acks(asyncio.Queue):
    """ansible-rulebook's feedback queue (one slot); ``consumed`` is told of each item the
    source takes (it records it with no await in between: taken = recorded)."""

    def __init__(self, consumed):
        super(Acks, self).__init__(1)
        self._consumed = consumed

    async def get(self):
        item = await super(Acks, self).get()
        self._consumed(item)
        return item


class Events(asyncio.Queue):
    """ansible-rulebook's event queue (one slot); ``putting`` is told of each put as it
    starts (the source's decision to hand the entry over, before room is found)."""

    def __init__(self, putting):
        super(Events, self).__init__(1)
        self._putting = putting

    async def put(self, item):
        self._putting(item["audit_log"]["seq"])
        await super(Events, self).put(item)


class Process(object):
    """One run of ansible-rulebook with the source: the queues, the engine's hands, the tasks."""

    def __init__(self, machine):
        self.events = Events(machine.putting)
        self.acks = Acks(machine.ack_consumed)
        self.outbox = asyncio.Queue()   # processed events whose acknowledgement is on its way
        self.taken = []                 # taken from the queue, not processed yet
        self.held = []                  # acknowledgements held back (late)
        self.put = collections.Counter()  # seq -> times the source put it (this run)
        self.feedback = None
        self.poll = self.sender = None

    async def send_acks(self):
        while True:
            await self.acks.put(await self.outbox.get())


class FeedbackMachine(RuleBasedStateMachine):

    def __init__(self):
        super(FeedbackMachine, self).__init__()
        self.dir = tempfile.mkdtemp(prefix="feedback-model-", dir=SCRATCH)
        self.clock = Clock()
        self.ticks = Ticks()
        self.api = ModelApi(self.clock, page_size=10)
        self.start = self.clock().replace(microsecond=0)
        self.loop = asyncio.new_event_loop()
        self.patch = mock.patch.object(Poll, "next_batch_in_thread", read_in_loop)
        self.patch.start()
        self.seq = 0
        self.processed = collections.Counter()  # seq -> times the rules processed it
        self.unrecorded = set()   # processed, no acknowledgement recorded (yet)
        self.recorded = set()
        self.may_repeat = set()   # processed twice would be allowed (the property's set)
        self.may_lose = set()     # without feedback: on the queue or taken at a kill
        self.late = set()
        self.kills = 0
        self.direct = False  # True: driven by a plain test, not by Hypothesis
        self.feedback = self.poller = self.run = None

    @initialize(feedback=st.booleans(), batch=st.sampled_from([2, 5, 500]))
    def begin(self, feedback, batch):
        self.feedback = feedback
        self.options = dict(settle=SETTLE, batch=batch, clock=self.clock,
                            state_file=os.path.join(self.dir, "state"))
        self._start()

    # -- the process ---------------------------------------------------------------------

    def _start(self):
        self.poller = AuditLogPoller(self.api, **self.options)
        self.run = Process(self)

        async def wire():
            if self.feedback:
                self.run.feedback = PLUGIN["_Feedback"](self.run.acks, self.poller,
                                                        InFlight(TIMEOUT, self.ticks))
            self.run.sender = asyncio.ensure_future(self.run.send_acks())
        self.loop.run_until_complete(wire())

    def _spin(self, iterations):
        for dummy in range(iterations):
            self.loop.run_until_complete(asyncio.sleep(0))

    def _tasks(self):
        run = self.run
        tasks = [run.poll, run.sender] + ([run.feedback.task] if run.feedback else [])
        return [task for task in tasks if task is not None]

    def ack_consumed(self, event):
        seq = event["audit_log"]["seq"]
        self.unrecorded.discard(seq)
        self.recorded.add(seq)

    def putting(self, seq):
        """The source puts ``seq`` (again?): a copy still out may make the rules see it twice."""
        run = self.run
        waiting = list(run.events._queue)  # pylint: disable=protected-access
        outstanding = seq in self.unrecorded or any(
            e["audit_log"]["seq"] == seq for e in run.taken + waiting)
        if run.put[seq] and outstanding:
            self.may_repeat.add(seq)
        run.put[seq] += 1

    # -- rules ---------------------------------------------------------------------------

    @rule(count=st.integers(1, 8), offset=st.integers(-SETTLE + 1, 5), spread=st.integers(0, 2))
    def add_entries(self, count, offset, spread):
        now = self.clock()
        for n in range(count):
            self.seq += 1
            created = (now + datetime.timedelta(seconds=offset + n % (spread + 1))).replace(
                microsecond=0)
            listed = max(created, now)
            self.api.add("e%05d" % self.seq, created, listed=listed, seq=self.seq)
            if (listed - created).total_seconds() > SETTLE:
                self.late.add(self.seq)

    @rule(seconds=st.floats(0.5, 6))
    def advance(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def poll(self):
        run = self.run
        if run.poll is not None and not run.poll.done():
            return
        if run.poll is not None and not run.poll.cancelled() and run.poll.exception():
            assert isinstance(run.poll.exception(), AuditLogError), run.poll.exception()
        run.poll = self.loop.create_task(PLUGIN["_poll_once"](
            run.events, self.poller, self.loop, run.feedback))
        self._spin(2)

    @rule()
    def fault(self):
        self.api.failures.append(TransportError("connection reset"))

    @rule(iterations=st.integers(1, 6))
    def step(self, iterations):
        self._spin(iterations)

    @rule()
    def take(self):
        """The engine takes the event waiting on its queue (the source's put completes)."""
        run = self.run
        if run.events.empty():
            return
        run.taken.append(run.events.get_nowait())
        self._spin(2)

    @rule(data=st.data(), ack=st.sampled_from(["now", "now", "held", "held", "never"]))
    def process(self, data, ack):
        """The rules process one taken event (any of them: the order is free); its
        acknowledgement goes back now, is held back (late: ``release``), or never goes (the
        engine failed on it)."""
        run = self.run
        if not run.taken:
            return
        event = run.taken.pop(data.draw(st.integers(0, len(run.taken) - 1)))
        seq = event["audit_log"]["seq"]
        self.processed[seq] += 1
        if seq not in self.recorded:
            self.unrecorded.add(seq)
        if self.feedback and ack != "never":  # no feedback queue without feedback: true
            ack_event = dict(event, meta={"source": {"name": "audit"}})
            if ack == "now":
                run.outbox.put_nowait(ack_event)
            else:
                run.held.append(ack_event)
        self._spin(3)

    @rule(data=st.data())
    def release(self, data):
        """A late acknowledgement goes back (any of those held back)."""
        run = self.run
        if run.held:
            run.outbox.put_nowait(run.held.pop(data.draw(st.integers(0, len(run.held) - 1))))
            self._spin(3)

    @precondition(lambda self: self.feedback)
    @rule()
    def feedback_timeout_passes(self):
        """Longer than feedback_timeout: what is in flight is sent again."""
        self.ticks.now += TIMEOUT + 1
        self.run.feedback.changed.set()  # the waiter's real-time sleep, cut short
        self._spin(3)

    @rule()
    def kill(self):
        """SIGKILL: the source and the engine die together; what the engine held is gone.
        Restarted from the state file."""
        run = self.run
        self.kills += 1
        if self.feedback:
            self.may_repeat |= self.unrecorded
        else:
            self.may_lose |= set(e["audit_log"]["seq"] for e in run.taken)
            if not run.events.empty():
                self.may_lose.add(run.events.get_nowait()["audit_log"]["seq"])
        for task in self._tasks():
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*self._tasks(), return_exceptions=True))
        self.poller.close()  # the dead process's lock goes with it
        self._start()

    # -- checks --------------------------------------------------------------------------

    @invariant()
    def duplicates_only_where_allowed(self):
        twice = sorted(seq for seq, count in self.processed.items() if count > 1)
        if self.feedback:
            assert set(twice) <= self.may_repeat, "processed twice unexpectedly: %s" % (
                sorted(set(twice) - self.may_repeat))
        elif self.feedback is not None:
            assert not twice, "processed twice without feedback: %s" % twice

    def teardown(self):
        try:
            if self.poller is not None:
                self._drain_and_check()
        finally:
            if self.run is not None:
                for task in self._tasks():
                    task.cancel()
                self.loop.run_until_complete(
                    asyncio.gather(*self._tasks(), return_exceptions=True))
            if self.poller is not None:
                self.poller.close()
            self.loop.close()
            self.patch.stop()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _drain_and_check(self):
        """Faults gone, every entry settled, a prompt engine: all that must arrive does."""
        self.api.failures = []
        self.clock.now = max([listed for dummy, listed in self.api.rows] + [self.clock()]) \
            + datetime.timedelta(seconds=SETTLE + 1)
        for dummy in range(60):
            before = sum(self.processed.values())
            self.poll()
            for guard in range(1, 5000):
                run = self.run
                if run.poll.done() and not (run.taken or run.held or run.outbox.qsize()
                                            or run.acks.qsize() or run.events.qsize()):
                    break
                self.take()
                while run.taken:
                    self.process(_First(), "now")
                while run.held:
                    self.release(_First())
                self._spin(2)
                if self.feedback and guard % 50 == 0:
                    self.feedback_timeout_passes()  # an acknowledgement that never came
            else:
                raise AssertionError("the poll never ended")
            if self.run.poll.exception() is None and sum(self.processed.values()) == before:
                break
            self.clock.advance(1)
        self.duplicates_only_where_allowed()
        if not self.direct:  # statistics (--hypothesis-show-statistics) of the machine's runs
            event("feedback=%s, kills: %s, some processed twice: %s" % (
                self.feedback, bool(self.kills),
                any(count > 1 for count in self.processed.values())))
        must = set(e["seq"] for e, dummy in self.api.rows
                   if Query.entry_time(e) >= self.start and e["seq"] not in self.late)
        missing = sorted(must - set(self.processed))
        if self.feedback:
            assert not missing, "lost with feedback: %s" % missing
        else:
            assert set(missing) <= self.may_lose, "lost without a kill to explain it: %s" % (
                sorted(set(missing) - self.may_lose))


class _First(object):
    """``data`` for ``process`` in the drain: always the first taken event."""

    @staticmethod
    def draw(strategy):
        return 0


FeedbackMachine.TestCase.settings = settings(settings(), max_examples=100,
                                             stateful_step_count=50)
test_acknowledged_delivery_against_the_model = FeedbackMachine.TestCase


def test_a_kill_between_processing_and_the_recorded_acknowledgement_sends_it_again():
    """The one duplicate acknowledged delivery allows, reached on purpose: the rules processed
    the event, its acknowledgement was on its way when the process was killed."""
    state = FeedbackMachine()
    state.direct = True
    state.begin(feedback=True, batch=5)
    state.add_entries(count=3, offset=0, spread=0)
    state.poll()
    for dummy in range(3):
        state.take()
        state.process(_First(), "now" if dummy != 1 else "held")
    state.kill()
    assert state.may_repeat == {2} and state.processed == {1: 1, 2: 1, 3: 1}
    state.teardown()
    assert state.processed == {1: 1, 2: 2, 3: 1}
