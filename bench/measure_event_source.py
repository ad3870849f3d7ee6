# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""9. The event source (issue 20): events per second into ansible-rulebook's one-slot queue
with a prompt consumer, and the cost of recording what was delivered.

In process, no HTTP: the source's own ``_poll_once`` (loaded from its file, as
ansible-rulebook loads it) over the real poller and the real Scan, fed by a fake transport
that serves pages of a backlog. Measured with and without a ``state_file`` (on the work
directory's disk, fsync included). Then the state's cost, per delivered event (the journal
record) and per batch (the snapshot), with 1,000 and 100,000 remembered entries.
"""

import asyncio
import datetime
import os
import tempfile
import time

from figures import median, rnd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")
T0 = datetime.datetime(2026, 12, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)


def _load_source():
    namespace = {"__file__": SOURCE, "__name__": "<run_path>"}
    with open(SOURCE) as handle:
        exec(compile(handle.read(), SOURCE, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


class _Backlog(object):
    """A client whose scans read ``count`` entries (oldest first, ten a second) page by page
    through the real Scan."""

    def __init__(self, count):
        self.items = [{"id": "e%07d" % n, "action": "vm.created",
                       "created_at": (T0 - datetime.timedelta(seconds=3600 - n // 10)).strftime(
                           "%Y-%m-%dT%H:%M:%SZ")} for n in range(count)]

    def scan(self, query, max_pages=None, deadline=None, **kwargs):
        # pylint: disable=import-outside-toplevel
        from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
        return Scan(self, query, page_size=100, max_pages=max_pages, deadline=deadline)

    def get_json(self, path, params):
        start = int(params.get("cursor") or 0)
        items = self.items[start:start + params["limit"]]
        more = start + params["limit"] < len(self.items)
        return {"items": items, "pagination": {
            "next_cursor": str(start + params["limit"]) if more else None,
            "total_count": len(self.items)}}


def _throughput(plugin, count, state_dir):
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
        AuditLogPoller,
    )
    state = os.path.join(state_dir, "state-%d" % time.time_ns()) if state_dir else None
    poller = AuditLogPoller(_Backlog(count), since="2h", settle=5, state_file=state,
                            clock=lambda: T0)

    async def run():
        queue = asyncio.Queue(1)
        got = []

        async def consume():
            while True:
                got.append(await queue.get())
        consumer = asyncio.ensure_future(consume())
        start = time.perf_counter()
        await plugin["_poll_once"](queue, poller, asyncio.get_running_loop())
        while not queue.empty():
            await asyncio.sleep(0)
        seconds = time.perf_counter() - start
        consumer.cancel()
        return seconds, len(got)
    try:
        seconds, received = asyncio.run(run())
    finally:
        poller.close()
    if received != count:
        raise AssertionError("the consumer got %d events of %d" % (received, count))
    return count / seconds


def _state_cost(remembered, state_dir, records=1000):
    """Milliseconds per journal record and per snapshot with ``remembered`` entries."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
        AuditLogPoller,
    )
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.poll import Batch
    state = os.path.join(state_dir, "cost-%d" % remembered)
    poller = AuditLogPoller(_Backlog(0), settle=86400, state_file=state, clock=lambda: T0)
    try:
        for n in range(remembered):
            poller.checkpoint.sent["old%07d" % n] = T0
        start = time.perf_counter()
        for n in range(records):
            poller.delivered({"id": "new%07d" % n, "created_at": "2026-12-01T08:00:00Z"})
        per_record = (time.perf_counter() - start) / records
        start = time.perf_counter()
        poller.commit(Batch([], poller.checkpoint.watermark))
        snapshot = time.perf_counter() - start
    finally:
        poller.close()
    return {"record_ms": rnd(per_record * 1000, 4), "snapshot_ms": rnd(snapshot * 1000, 2),
            "state_bytes": os.path.getsize(state)}


def run(ctx):
    plugin = _load_source()
    count = 2000 if ctx.quick else 20000
    state_dir = tempfile.mkdtemp(prefix="event-source-", dir=ctx.workdir)
    reps = max(1, min(ctx.reps, 3))
    with_state = [_throughput(plugin, count, state_dir) for dummy in range(reps)]
    without = [_throughput(plugin, count, None) for dummy in range(reps)]
    return {
        "entries": count,
        "events_per_s_state_file": rnd(median(with_state), 0),
        "events_per_s_no_state": rnd(median(without), 0),
        "state_cost": dict((str(n), _state_cost(n, state_dir)) for n in (1000, 100000)),
    }
