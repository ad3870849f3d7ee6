# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-process list endpoint (GET /v1/audit_logs of the API contract) with injectable lies,
and a transport over it for ParallelScan and Scan: no HTTP, no threads of its own.

Semantics (CONTRACT.md): ``limit``, inclusive ``created_at_min``/``created_at_max``,
``sort=created_at:desc|asc`` (ties by id, the same direction), an opaque ``cursor`` (here an
offset into the request's list) and ``total_count`` of the whole filtered list. Lies, each off
by default:

- ``narrow_width``/``narrow_lost``: a request whose bounds span less than ``narrow_width``
  seconds loses the entries with ids in ``narrow_lost``, from its items and its count alike;
- ``ignore_bounds``: a follow-up page (cursor) at an offset for which ``ignore_bounds(offset,
  params)`` is true is cut from the unfiltered list instead;
- ``truncate``: fractional bounds are truncated to whole seconds;
- ``count_delta(params)``: added to the true total_count;
- ``repeat_every``: every such follow-up page starts one entry early (repeats one entry).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import threading

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
)

BASE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def entry_at(number, seconds):
    """An entry ``seconds`` (float, microseconds kept) after BASE."""
    created = BASE + datetime.timedelta(microseconds=round(seconds * 1000000))
    return {"id": "e%05d" % number, "created_at": format_utc(created), "action": "vm.created",
            "actor": {"id": "u1", "name": "A", "type": "user"}, "status_code": 200}


class FakeListApi(object):

    def __init__(self, entries, narrow_width=None, narrow_lost=(), ignore_bounds=None,
                 truncate=False, count_delta=None, repeat_every=None):
        self.entries = [(parse_rfc3339(e["created_at"]), e) for e in entries]
        self.narrow_width = narrow_width
        self.narrow_lost = frozenset(narrow_lost)
        self.ignore_bounds = ignore_bounds
        self.truncate = truncate
        self.count_delta = count_delta
        self.repeat_every = repeat_every
        self.requests = 0
        self._lock = threading.Lock()

    def _bound(self, text):
        instant = parse_rfc3339(text) if text else None
        if instant is not None and self.truncate:
            instant = instant.replace(microsecond=0)
        return instant

    def _selection(self, params, bounded=True):
        low, high = self._bound(params.get("created_at_min")), \
            self._bound(params.get("created_at_max"))
        narrow = bounded and self.narrow_width is not None and low is not None \
            and high is not None and (high - low).total_seconds() < self.narrow_width
        chosen = [(t, e) for t, e in self.entries
                  if not bounded or ((low is None or t >= low) and (high is None or t <= high))]
        if narrow:
            chosen = [(t, e) for t, e in chosen if e["id"] not in self.narrow_lost]
        newest_first = params.get("sort", "created_at:desc") != "created_at:asc"
        chosen.sort(key=lambda pair: (pair[0], pair[1]["id"]), reverse=newest_first)
        return [e for dummy, e in chosen]

    def list(self, params):
        with self._lock:
            self.requests += 1
        limit = params["limit"]
        offset = int(params["cursor"][1:]) if params.get("cursor") else 0
        selection = self._selection(params)
        total = len(selection) + (self.count_delta(params) if self.count_delta else 0)
        source = selection
        if offset and self.ignore_bounds and self.ignore_bounds(offset, params):
            source = self._selection(params, bounded=False)
        start = offset
        if offset and self.repeat_every and (offset // limit) % self.repeat_every == 0:
            start = offset - 1
        items = [dict(e) for e in source[start:start + limit]]
        end = start + len(items)
        more = end < len(selection)
        return {"items": items, "pagination": {
            "next_cursor": "o%d" % end if more and items else None,
            "previous_cursor": None, "total_count": max(0, total)}}


class FakeTransport(object):
    """What ParallelScan and Scan use of a Transport."""

    def __init__(self, api):
        self.api = api
        self.requests_sent = 0
        self.clock = lambda: 0.0
        self.sleep = lambda seconds: None

    def get_json(self, path, params=None):
        assert path == "/v1/audit_logs"
        self.requests_sent += 1
        return self.api.list(dict(params or {}))

    def sibling(self, gate=None):
        return FakeTransport(self.api)

    def close(self):
        pass
