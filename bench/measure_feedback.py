# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""10. Acknowledged delivery (issue 22): events per second with and without ``feedback``, side
by side in one run, with a state_file (fsync included) and a prompt engine.

In process, no HTTP: the source's ``_poll_once`` over the real poller and Scan (the backlog of
``measure_event_source``); ansible-rulebook's side is a task with its two one-slot queues that
takes each event and, with feedback, puts it back on the feedback queue at once (what the
engine does once its rules have processed it). The ratio is what feedback costs the source.
"""

import asyncio
import os
import tempfile
import time

from figures import median, rnd
from measure_event_source import T0, _Backlog, _load_source


def _throughput(plugin, count, state_dir, feedback):
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.acks import InFlight
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
        AuditLogPoller,
    )
    state = os.path.join(state_dir, "state-%d" % time.time_ns())
    poller = AuditLogPoller(_Backlog(count), since="2h", settle=5, state_file=state,
                            clock=lambda: T0)

    async def run():
        events, acks = asyncio.Queue(1), asyncio.Queue(1)
        got = []

        async def engine():
            while True:
                event = await events.get()
                got.append(event)
                if feedback:
                    await acks.put(dict(event, meta={"source": {"name": "bench"}}))
        consumer = asyncio.ensure_future(engine())
        helper = plugin["_Feedback"](acks, poller, InFlight(300)) if feedback else None
        start = time.perf_counter()
        await plugin["_poll_once"](events, poller, asyncio.get_running_loop(), helper)
        while not events.empty():
            await asyncio.sleep(0)
        seconds = time.perf_counter() - start
        consumer.cancel()
        if helper is not None:
            helper.stop()
        return seconds, len(got)
    try:
        seconds, received = asyncio.run(run())
    finally:
        poller.close()
    if received != count:
        raise AssertionError("the engine got %d events of %d" % (received, count))
    return count / seconds


def run(ctx):
    plugin = _load_source()
    count = 2000 if ctx.quick else 20000
    state_dir = tempfile.mkdtemp(prefix="feedback-", dir=ctx.workdir)
    reps = max(1, min(ctx.reps, 3))
    without, with_feedback = [], []
    for dummy in range(reps):  # interleaved: the same load for both
        without.append(_throughput(plugin, count, state_dir, False))
        with_feedback.append(_throughput(plugin, count, state_dir, True))
    plain, acked = median(without), median(with_feedback)
    return {
        "entries": count,
        "events_per_s_without_feedback": rnd(plain, 0),
        "events_per_s_with_feedback": rnd(acked, 0),
        "ratio_with_to_without": rnd(acked / plain, 3),
    }
