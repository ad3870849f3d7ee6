# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scan: page through the audit log for one Query, one page in memory at a time.

Paging: ask again with ``cursor=next_cursor`` while the last page had a non-empty
``next_cursor``, even when the page had no items (a filtering server may answer an empty page
with a cursor; the SDKs would stop there and lose the rest). On top of that the scan re-checks
every entry, stops early when the requested order makes the rest of the list irrelevant, drops
an entry repeated across a page boundary, refuses a cursor that repeats or a server that sends
clearly more entries than it said exist, checks the JSON type of every field it reads, and
stops at ``max_results``, ``max_pages`` or its ``deadline`` with a resume token. ``report``
says what happened; completeness is stated, never assumed (see ``Scan``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    BadResponseError,
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.once import IteratedOnce
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import OrderWatch
from ansible_collections.nirvana_labs.audit.plugins.module_utils.pages import (
    check_entry,
    read_page,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.resume import (
    decode_token,
    encode_token,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan_limits import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    check_overrun,
    check_settings,
    guard_stop,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan_report import (
    scan_report,
    settle_at_end,
    stopped,
    unknown,
    unsettled,
)

# MIN_PAGE_SIZE and MAX_PAGE_SIZE are re-exported: the schema documents them from here.
__all__ = ["LIST_PATH", "MAX_PAGE_SIZE", "MIN_PAGE_SIZE", "Scan", "first_page_params"]

LIST_PATH = "/v1/audit_logs"


def first_page_params(query, page_size, push_down=True):
    """The parameters of a scan's first page: the page size, and with ``push_down`` the
    filters a server applies and the sort (the later pages add the cursor)."""
    params = {"limit": page_size}
    if push_down:
        params.update(query.server_params())
        params["sort"] = query.sort_param()
    return params


class Scan(IteratedOnce):
    """An iterable of matching entries; ``report`` is complete once iteration has ended.

    Completeness (``report["complete"]``, with ``report["incomplete_reason"]`` whenever it is
    not True) compares what the server sent with what it said it has. ``total_count`` is the
    size of the list the server filtered with the parameters it was sent; the entries received
    from it (before the client-side re-check, duplicates dropped) are comparable to it whatever
    the client filters later, so client-side-only filters do not hide completeness. It is:

    - True when the scan read to the end of the list (a page without ``next_cursor``) and
      received exactly ``total_count`` entries (that of the first page, or of the last: a live
      log may grow during the scan);
    - False when it read to the end and received another number, or when ``max_pages`` or
      ``deadline`` stopped it before the end (``next_cursor`` resumes it);
    - None (cannot be known) when the server sent no ``total_count``, when the scan resumed
      from a cursor (earlier calls' entries are not counted here), when it stopped early
      because the verified order left nothing more to match (the rest was not read, so there
      is nothing to compare), or at ``max_results`` (the caller asked for a part).

    A scan that receives clearly more entries than ``total_count`` (more than one page and a
    tenth beyond it) raises BadResponseError instead of following the server's cursors for
    ever; ``max_pages`` and ``deadline`` (seconds) bound a scan without a count.
    """

    def __init__(self, transport, query, page_size=MAX_PAGE_SIZE, max_results=None, cursor=None,
                 push_down=True, early_stop=True, max_pages=None, deadline=None, clock=None):
        check_settings(page_size, max_results, max_pages, deadline)
        self.max_pages, self.deadline = max_pages, deadline
        self._clock = clock or time.monotonic
        self._transport = transport
        self._api_cursor, self._skip = None, 0
        if cursor:
            self._api_cursor, self._skip, page_size, window, fingerprint = decode_token(cursor)
            if fingerprint != query.fingerprint():
                raise InvalidOption("cursor", "was issued for other filters or another order;"
                                              " resume with the same options as the first call")
            query = query.with_window(window["since"], window["until"])
        self.query = query
        self.page_size = page_size
        self.max_results = max_results
        self.early_stop = early_stop
        self.params = first_page_params(query, page_size, push_down)
        self._order = OrderWatch(query.order)
        self.report = scan_report(
            pushed_down=dict((k, v) for k, v in self.params.items() if k not in ("limit", "sort")),
            resumed=bool(cursor), window=query.window,
            order={"requested": query.order, "sort_sent": self.params.get("sort"),
                   "observed": "unknown"},
            **unsettled())
        self._totals = []
        self._received = 0

    def _fetch(self, api_cursor):
        params = dict(self.params)
        if api_cursor:
            params["cursor"] = api_cursor
        items, next_cursor, total = read_page(self._transport.get_json(LIST_PATH, params))
        self.report["pages"] += 1
        if total is not None:
            self.report["total_count"] = total
            self._totals.append(total)
        return items, next_cursor

    def _entries(self):
        report, query, order = self.report, self.query, self._order
        api_cursor, skip = self._api_cursor, self._skip
        seen_cursors = set()
        previous_ids = frozenset()
        started = self._clock()
        while True:
            items, next_cursor = self._fetch(api_cursor)
            page_ids = set()
            for entry in items:
                check_entry(entry)
            for index, entry in enumerate(items):
                entry_id = entry.get("id")
                if index < skip:
                    page_ids.add(entry_id)
                    continue
                report["scanned"] += 1
                # Entries without an id are not duplicates of each other (the poller keys
                # them by their content).
                if entry_id is not None and (entry_id in previous_ids or entry_id in page_ids):
                    report["duplicates"] += 1
                    continue
                page_ids.add(entry_id)
                self._received += 1
                created = query.entry_time(entry)
                order.see(created)
                if self._past_window(created):
                    report["stopped_early"] = True
                    report["stop_reason"] = self._stop_reason()
                    unknown(report, "stopped early: %s; the rest of the list was not read, so"
                                    " the count cannot be compared" % report["stop_reason"])
                    return
                if not query.matches(entry):
                    continue
                if self.max_results is not None and report["matched"] >= self.max_results:
                    self._truncate(api_cursor, index)
                    return
                report["matched"] += 1
                yield entry
            skip = 0
            report["order"]["observed"] = order.observed
            check_overrun(self._received, self._totals, self.page_size, report["pages"])
            if not next_cursor:
                settle_at_end(report, self._received, self._totals)
                return
            if next_cursor == api_cursor or next_cursor in seen_cursors:
                raise BadResponseError(
                    "the API returned a next_cursor it had already returned (after %d pages);"
                    " stopped instead of looping forever" % report["pages"])
            seen_cursors.add(next_cursor)
            if self.max_results is not None and report["matched"] >= self.max_results:
                # The limit was reached on the last entry of a page: more may follow.
                self._truncate(next_cursor, 0)
                return
            if self._guard_stops(next_cursor, started):
                return
            if items:
                previous_ids = frozenset(page_ids)
            api_cursor = next_cursor

    # -- completeness and guards ---------------------------------------------------------------

    def _guard_stops(self, next_cursor, started):
        """True when max_pages or the deadline ends the scan before ``next_cursor``."""
        stop = guard_stop(self.max_pages, self.deadline, self.report["pages"],
                          lambda: self._clock() - started)
        if stop is None:
            return False
        stopped(self.report, *stop)
        self.report["order"]["observed"] = self._order.observed
        self.report["next_cursor"] = encode_token(next_cursor, 0, self.page_size,
                                                  self.query.window, self.query.fingerprint())
        return True

    def _past_window(self, created):
        """True once the requested order has carried the scan past the window for good."""
        if not self.early_stop or created is None or not self._order.confirmed:
            return False
        if self._order.newest_first:
            return self.query.since is not None and created < self.query.since
        return self.query.until is not None and created >= self.query.until

    def _stop_reason(self):
        bound = "since" if self._order.newest_first else "until"
        how = "asked for with sort=%s and " % self.report["order"]["sort_sent"] \
            if self.report["order"]["sort_sent"] else ""
        self.report["order"]["observed"] = self._order.observed
        return ("reached an entry beyond %s=%s; the %s order was %sverified on all %d entries"
                " read, so no later entry can match" % (
                    bound, self.query.window[bound], self.query.order.replace("_", " "), how,
                    self.report["scanned"]))

    def _truncate(self, api_cursor, index):
        unknown(self.report, "stopped at max_results=%d as asked; resume with next_cursor for"
                             " the rest" % self.max_results)
        self.report["truncated"] = True
        self.report["order"]["observed"] = self._order.observed
        self.report["next_cursor"] = encode_token(api_cursor, index, self.page_size,
                                                  self.query.window, self.query.fingerprint())
