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

import base64
import json
import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    BadResponseError,
    InvalidOption,
)

MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
LIST_PATH = "/v1/audit_logs"
_TOKEN_PREFIX = "nla1."


def encode_token(api_cursor, skip, page_size, window, fingerprint):
    """Our resume token: the API cursor of the page in progress and how many of its entries
    were consumed, plus what the continuation must keep (page size, resolved window) and the
    fingerprint of the filters it belongs to."""
    payload = {"c": api_cursor, "s": skip, "n": page_size,
               "w": [window["since"], window["until"]], "f": fingerprint}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token):
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise InvalidOption("cursor", "is not a cursor returned by this collection"
                                      " (use the next_cursor of a previous result)")
    body = token[len(_TOKEN_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(raw.decode("utf-8"))
        window = payload["w"]
        result = (payload["c"], int(payload["s"]), int(payload["n"]),
                  {"since": window[0], "until": window[1]}, str(payload["f"]))
    except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError):
        raise InvalidOption("cursor", "is damaged; pass the next_cursor value unchanged")
    if result[1] < 0 or not MIN_PAGE_SIZE <= result[2] <= MAX_PAGE_SIZE:
        raise InvalidOption("cursor", "is damaged; pass the next_cursor value unchanged")
    return result


class _OrderWatch(object):
    """Watches the creation times go by: which order the server really used, and whether the
    requested one has held on every entry so far (the condition for stopping early)."""

    def __init__(self, requested):
        self.newest_first = requested == "newest_first"
        self.previous = None
        self.seen_desc = self.seen_asc = False
        self.broken = False  # an entry without a readable time also ends every guarantee

    def see(self, created):
        if created is None:
            self.broken = True
            return
        if self.previous is not None:
            if created < self.previous:
                self.seen_desc = True
            elif created > self.previous:
                self.seen_asc = True
        self.previous = created

    @property
    def confirmed(self):
        """The requested order was seen (one step at least) and never contradicted. Asking
        with ``sort`` is not enough: a server of the seed generation ignores it."""
        return self.observed == ("newest_first" if self.newest_first else "oldest_first")

    @property
    def observed(self):
        if self.broken or (self.seen_asc and self.seen_desc):
            return "unordered"
        if self.seen_desc:
            return "newest_first"
        if self.seen_asc:
            return "oldest_first"
        return "unknown"


# Fields of an entry the scan and the filters read: their JSON type must be right, or a
# filter could raise (a list is not hashable) or skip an entry silently.
_ENTRY_FIELDS = (("id", str), ("created_at", str), ("actor", dict), ("target", dict))
_NESTED_FIELDS = (("actor", ("id", "name", "type")), ("target", ("id", "type")))
_JSON_TYPES = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
               (list, "an array"), (dict, "an object"))


def _json_type(value):
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return "null"


def _wrong_type(where, value, expected):
    return BadResponseError("the API answered with %s %s, not %s"
                            % (where, _json_type(value), expected))


def check_entry(entry):
    """Raise BadResponseError unless the fields the scan reads have their JSON types (or are
    absent or null, which the filters treat as not matching)."""
    if not isinstance(entry, dict):
        raise _wrong_type("an entry that is", entry, "an object")
    for name, kind in _ENTRY_FIELDS:
        value = entry.get(name)
        if value is not None and not isinstance(value, kind):
            raise _wrong_type("an entry whose %s is" % name, value,
                              "an object" if kind is dict else "a string")
    for name, fields in _NESTED_FIELDS:
        inner = entry.get(name) or {}
        for field in fields:
            value = inner.get(field)
            if value is not None and not isinstance(value, str):
                raise _wrong_type("an entry whose %s.%s is" % (name, field), value, "a string")


def _read_page(page):
    """(items, next_cursor or None, total_count or None) of a list page, types checked."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise BadResponseError("the API answered with a page that has no 'items' list")
    pagination = page.get("pagination")
    if pagination is None:
        pagination = {}
    if not isinstance(pagination, dict):
        raise _wrong_type("a page whose pagination is", pagination, "an object")
    next_cursor = pagination.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise _wrong_type("a page whose next_cursor is", next_cursor, "a string")
    total = pagination.get("total_count")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)
                              or total < 0):
        raise _wrong_type("a page whose total_count is", total, "a whole number")
    return page["items"], next_cursor or None, total


def _overrun_allowance(total, page_size):
    """How many entries beyond ``total_count`` are not yet "clearly more": one page and a
    tenth of the count, for entries that arrive while the scan runs (oldest first, a live log
    grows at the end)."""
    return page_size + total // 10


class Scan(object):
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
        if isinstance(page_size, bool) or not isinstance(page_size, int) \
                or not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
            raise InvalidOption("page_size", "must be a whole number from %d to %d"
                                % (MIN_PAGE_SIZE, MAX_PAGE_SIZE))
        if max_results is not None and (isinstance(max_results, bool)
                                        or not isinstance(max_results, int) or max_results < 1):
            raise InvalidOption("max_results", "must be a whole number of at least 1")
        self._check_guards(max_pages, deadline)
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
        self.params = {"limit": page_size}
        pushed = {}
        if push_down:
            pushed = query.server_params()
            pushed["sort"] = query.sort_param()
        self.params.update(pushed)
        self._order = _OrderWatch(query.order)
        self.report = {
            "pages": 0,
            "scanned": 0,
            "matched": 0,
            "duplicates": 0,
            "total_count": None,
            "pushed_down": dict((k, v) for k, v in pushed.items() if k != "sort"),
            "stopped_early": False,
            "stop_reason": None,
            "truncated": False,
            "next_cursor": None,
            "resumed": bool(cursor),
            "complete": None,
            "incomplete_reason": None,
            "stopped_by": None,
            "window": query.window,
            "order": {"requested": query.order, "sort_sent": pushed.get("sort"),
                      "observed": "unknown"},
        }
        self._started = False
        self._totals = []
        self._received = 0

    @staticmethod
    def _check_guards(max_pages, deadline):
        if max_pages is not None and (isinstance(max_pages, bool) or not isinstance(max_pages, int)
                                      or max_pages < 1):
            raise InvalidOption("max_pages", "must be a whole number of at least 1")
        if deadline is not None and (isinstance(deadline, bool)
                                     or not isinstance(deadline, (int, float))
                                     or not 0 < deadline < float("inf")):
            raise InvalidOption("deadline", "must be a number of seconds above 0")

    def __iter__(self):
        if self._started:
            raise RuntimeError("a Scan can be iterated once")
        self._started = True
        return self._entries()

    def _fetch(self, api_cursor):
        params = dict(self.params)
        if api_cursor:
            params["cursor"] = api_cursor
        items, next_cursor, total = _read_page(self._transport.get_json(LIST_PATH, params))
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
                    self._unknown("stopped early: %s; the rest of the list was not read, so the"
                                  " count cannot be compared" % report["stop_reason"])
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
            self._check_overrun()
            if not next_cursor:
                self._settle_at_end()
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

    def _unknown(self, reason):
        self.report["complete"] = None
        self.report["incomplete_reason"] = reason

    def _settle_at_end(self):
        """The list was read to its end: compare what was received with what was announced."""
        report, received = self.report, self._received
        if report["resumed"]:
            self._unknown("resumed from a cursor: entries read by earlier calls are not counted"
                          " here, so the count cannot be compared")
        elif not self._totals:
            self._unknown("the server sent no total_count to compare with")
        elif received in (self._totals[0], self._totals[-1]):
            report["complete"] = True
        else:
            report["complete"] = False
            report["incomplete_reason"] = (
                "the server said %d entries match the request (total_count) but sent %d;"
                " the result cannot be the whole answer" % (self._totals[-1], received))

    def _check_overrun(self):
        if not self._totals:
            return
        total = max(self._totals)
        if self._received > total + _overrun_allowance(total, self.page_size):
            raise BadResponseError(
                "the API sent %d entries after saying %d exist (total_count), in %d pages;"
                " stopped instead of following its cursors for ever"
                % (self._received, total, self.report["pages"]))

    def _guard_stops(self, next_cursor, started):
        """True when max_pages or the deadline ends the scan before ``next_cursor``."""
        report = self.report
        if self.max_pages is not None and report["pages"] >= self.max_pages:
            report["stopped_by"] = "max_pages"
            reason = "stopped after max_pages=%d pages" % self.max_pages
        elif self.deadline is not None and self._clock() - started >= self.deadline:
            report["stopped_by"] = "deadline"
            reason = "stopped at the deadline of %g s, after %d pages" % (
                self.deadline, report["pages"])
        else:
            return False
        report["complete"] = False
        report["incomplete_reason"] = "%s; the server has more (resume with next_cursor)" % reason
        report["order"]["observed"] = self._order.observed
        report["next_cursor"] = encode_token(next_cursor, 0, self.page_size, self.query.window,
                                             self.query.fingerprint())
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
        self._unknown("stopped at max_results=%d as asked; resume with next_cursor for the rest"
                      % self.max_results)
        self.report["truncated"] = True
        self.report["order"]["observed"] = self._order.observed
        self.report["next_cursor"] = encode_token(api_cursor, index, self.page_size,
                                                  self.query.window, self.query.fingerprint())
