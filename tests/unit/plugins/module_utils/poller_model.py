# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model of the API for the poller's tests: entries that become listed at chosen instants
of an injected clock, served page by page to the REAL Scan (``ModelApi`` is both the client
the poller calls and the transport the Scan reads), with the server's lies as switches:
ignore the filters or the sort, a cursor cycle, endless cursors, expired cursors, faults."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import ApiError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
)

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


class Clock(object):
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


class ModelApi(object):
    """``scan(query, ...)`` is a real Scan over ``get_json``; ``rows`` are (entry, listed)."""

    def __init__(self, clock, page_size=100):
        self.clock = clock
        self.page_size = page_size
        self.rows = []
        self.failures = []        # raised by the next requests, one each
        self.queries = []
        self.requests = []
        self.ignore_filters = False
        self.ignore_sort = False  # then newest first, whatever is asked
        self.cycle_after = None   # page n's next_cursor is page 2's cursor again
        self.endless = None       # fn(page number) -> items of a page that always has more
        self.expired = 0          # follow-up pages refused with 400, that many times

    def add(self, entry_id, created, listed=None, **fields):
        entry = dict(fields, id=entry_id, created_at=format_utc(created.replace(microsecond=0)))
        if entry_id is None:
            del entry["id"]
        self.rows.append((entry, listed or created))
        return entry

    def scan(self, query, page_size=None, max_results=None, cursor=None, max_pages=None,
             deadline=None):
        self.queries.append(query)
        return Scan(self, query, page_size=page_size or self.page_size, max_results=max_results,
                    cursor=cursor, max_pages=max_pages, deadline=deadline)

    def _listed(self, params):
        now = self.clock()
        items = [dict(e) for e, listed in self.rows if listed <= now]
        low = parse_rfc3339(params.get("created_at_min"))
        high = parse_rfc3339(params.get("created_at_max"))
        if not self.ignore_filters:
            if low is not None:
                # The server rounds a fractional bound up to the next whole second.
                if low.microsecond:
                    low = low.replace(microsecond=0) + datetime.timedelta(seconds=1)
                items = [e for e in items if parse_rfc3339(e["created_at"]) >= low]
            if high is not None:
                items = [e for e in items if parse_rfc3339(e["created_at"]) <= high]
        newest_first = self.ignore_sort or params.get("sort") != "created_at:asc"
        return sorted(items, key=lambda e: (e["created_at"], e.get("id") or ""),
                      reverse=newest_first)

    def get_json(self, path, params):
        self.requests.append(dict(params))
        if self.failures:
            raise self.failures.pop(0)
        cursor = params.get("cursor")
        if cursor and self.expired:
            self.expired -= 1
            raise ApiError("the cursor has expired", 400)
        page = int(cursor[1:]) if cursor else 0
        if self.endless is not None:
            return {"items": self.endless(page), "pagination": {"next_cursor": "e%d" % (page + 1)}}
        limit = params["limit"]
        items = self._listed(params)
        chunk = items[page * limit:(page + 1) * limit]
        following = page + 1
        if self.cycle_after is not None and following >= self.cycle_after:
            following = 1
        more = (page + 1) * limit < len(items) or self.cycle_after is not None
        return {"items": chunk, "pagination": {
            "next_cursor": "p%d" % following if more else None, "total_count": len(items)}}


class Stopped(Exception):
    """The source was stopped in the middle of a poll; ``delivered`` is what got out."""

    def __init__(self, delivered):
        super(Stopped, self).__init__()
        self.delivered = delivered


def deliver(poller, stop_after=None):
    """What the event source does for one poll: each entry handed over and recorded, then the
    batch committed. ``stop_after``: stop (raise Stopped) once that many were handed over."""
    delivered = []
    poll = poller.start_poll()
    while True:
        batch = poll.next_batch()
        if batch is None:
            return delivered
        for entry in batch.entries:
            if stop_after is not None and len(delivered) >= stop_after:
                raise Stopped(delivered)
            delivered.append(entry.get("id"))
            poller.delivered(entry)
        poller.commit(batch)
