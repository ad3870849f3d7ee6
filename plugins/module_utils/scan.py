# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scan: page through the audit log for one Query, one page in memory at a time.

Paging follows the official SDKs: ask again with ``cursor=next_cursor`` while the last page
had items and a non-empty ``next_cursor``. On top of that the scan re-checks every entry,
stops early when the requested order makes the rest of the list irrelevant, drops an entry
repeated across a page boundary, refuses a cursor that repeats, and stops at ``max_results``
with a resume token. ``report`` says what happened; completeness is stated, never assumed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

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


class Scan(object):
    """An iterable of matching entries; ``report`` is complete once iteration has ended."""

    def __init__(self, transport, query, page_size=MAX_PAGE_SIZE, max_results=None, cursor=None,
                 push_down=True, early_stop=True):
        if isinstance(page_size, bool) or not isinstance(page_size, int) \
                or not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
            raise InvalidOption("page_size", "must be a whole number from %d to %d"
                                % (MIN_PAGE_SIZE, MAX_PAGE_SIZE))
        if max_results is not None and (isinstance(max_results, bool)
                                        or not isinstance(max_results, int) or max_results < 1):
            raise InvalidOption("max_results", "must be a whole number of at least 1")
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
            "window": query.window,
            "order": {"requested": query.order, "sort_sent": pushed.get("sort"),
                      "observed": "unknown"},
        }
        self._started = False

    def __iter__(self):
        if self._started:
            raise RuntimeError("a Scan can be iterated once")
        self._started = True
        return self._entries()

    def _fetch(self, api_cursor):
        params = dict(self.params)
        if api_cursor:
            params["cursor"] = api_cursor
        page = self._transport.get_json(LIST_PATH, params)
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise BadResponseError("the API answered with a page that has no 'items' list")
        pagination = page.get("pagination")
        if not isinstance(pagination, dict):
            pagination = {}
        self.report["pages"] += 1
        total = pagination.get("total_count")
        if isinstance(total, int) and not isinstance(total, bool):
            self.report["total_count"] = total
        next_cursor = pagination.get("next_cursor")
        return page["items"], next_cursor if isinstance(next_cursor, str) and next_cursor else None

    def _entries(self):
        report, query, order = self.report, self.query, self._order
        api_cursor, skip = self._api_cursor, self._skip
        seen_cursors = set()
        previous_ids = frozenset()
        while True:
            items, next_cursor = self._fetch(api_cursor)
            page_ids = set()
            for index, entry in enumerate(items):
                if not isinstance(entry, dict):
                    raise BadResponseError("the API answered with an entry that is not an object")
                entry_id = entry.get("id")
                if index < skip:
                    page_ids.add(entry_id)
                    continue
                report["scanned"] += 1
                if entry_id in previous_ids or entry_id in page_ids:
                    report["duplicates"] += 1
                    continue
                page_ids.add(entry_id)
                created = query.entry_time(entry)
                order.see(created)
                if self._past_window(created):
                    report["stopped_early"] = True
                    report["stop_reason"] = self._stop_reason()
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
            if not items or not next_cursor:
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
            previous_ids = frozenset(page_ids)
            api_cursor = next_cursor

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
        self.report["truncated"] = True
        self.report["order"]["observed"] = self._order.observed
        self.report["next_cursor"] = encode_token(api_cursor, index, self.page_size,
                                                  self.query.window, self.query.fingerprint())
