# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One poll: one read of ``[W, horizon)``, handed out batch by batch.

A poll is ONE scan (one cursor chain), however many batches it takes, so the scan's guards
hold for the whole poll: a repeated cursor is refused, and ``max_pages`` and the deadline end
it. The batches only cut what the scan yields into pieces the adapter delivers and commits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import threading

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuditLogError,
    BadResponseError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import entry_key
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc

# A 400 on a follow-up page (an expired cursor) restarts the poll from the watermark; this
# many times per poll, then the poll fails (not fatally: the next one starts afresh).
MAX_RESTARTS = 3


class _ReachedWatermark(Exception):
    """The server was seen sorting newest first and sent an entry older than the watermark:
    everything after it is older too, so the rest of the list is not read."""


class _PollQuery(Query):
    """A Query whose ``matches`` first shows every entry the scan received to ``observer``
    (the scan calls it for each entry, in the server's order, before filtering)."""

    observer = None

    def matches(self, entry):
        if self.observer is not None:
            self.observer(entry)
        return Query.matches(self, entry)


class _Order(object):
    """The creation times the server sent, in its order: is it oldest first (then everything
    before the latest time seen has been read), or newest first?"""

    def __init__(self):
        self.ascending = self.descending = self.broken = False
        self.last = None

    def see(self, created):
        if created is None:
            self.broken = True
            return
        if self.last is not None:
            if created > self.last:
                self.ascending = True
            elif created < self.last:
                self.descending = True
        self.last = created

    @property
    def oldest_first(self):
        return self.ascending and not (self.descending or self.broken)

    @property
    def newest_first(self):
        return self.descending and not (self.ascending or self.broken)


class Batch(object):
    """Entries to deliver, the watermark that is safe once they are delivered, and how many
    of them had no usable id (remembered by their content's digest)."""

    def __init__(self, entries, watermark, keyless=0):
        self.entries = entries
        self.watermark = watermark
        self.keyless = keyless


class Poll(object):
    """``next_batch`` does the I/O (run it in a thread: ``next_batch_in_thread``); it returns
    None once the poll is over. ``stop`` makes a running poll end at its next entry."""

    def __init__(self, poller, started, monotonic):
        self._poller = poller
        self._monotonic = monotonic
        self._began = monotonic()
        self.started = started
        settle = datetime.timedelta(seconds=poller.settle)
        self.settled = started - settle
        # Ordered mode releases settled entries only; otherwise entries dated up to settle
        # ahead of our clock are taken (the API's clock may run ahead), later ones wait for
        # a later poll, so the remembered keys stay within the settle window.
        self.horizon = self.settled if poller.ordered else started + settle
        self._held = {}
        self._pages = self.restarts = 0
        self._stopped = self._done = self._complete = False
        self._error = None
        self._scan = self._entries = None
        self._order = _Order()
        self._open()

    def _open(self):
        """A scan from the committed watermark (at start, and after an expired cursor)."""
        poller = self._poller
        watermark = poller.checkpoint.watermark
        if self._scan is not None:
            self._pages += self._scan.report.get("pages") or 0
        self._order = _Order()
        self._held = {}
        remaining = poller.deadline - (self._monotonic() - self._began)
        if self.horizon <= watermark:
            self._done = self._complete = True  # nothing can be final yet (a clock gone back)
            return
        if self._pages >= poller.max_pages or remaining <= 0:
            self._done = True  # the poll's budget is spent; the next poll goes on from W
            return
        query = poller.query(watermark, until=self.horizon)
        query.observer = self._see
        self._watermark = watermark
        self._scan = poller.client.scan(query, max_pages=poller.max_pages - self._pages,
                                        deadline=remaining)
        self._entries = iter(self._scan)

    def _see(self, entry):
        created = Query.entry_time(entry)
        self._order.see(created)
        if created is not None and created < self._watermark and self._order.newest_first:
            raise _ReachedWatermark()

    def stop(self):
        self._stopped = True

    def next_batch(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._done or self._stopped:
            return None
        read = self._read(self._poller.batch)
        return self._batch(read)

    def _read(self, limit):
        read = []
        while len(read) < limit and not self._done:
            if self._stopped:
                self._done = True
                break
            try:
                read.append(next(self._entries))
            except StopIteration:
                self._done = True
                stopped_by = self._scan.report.get("stopped_by")
                self._complete = not stopped_by
                if stopped_by and not self._order.oldest_first:
                    # W cannot move: the next poll would read the same part of the list again.
                    self._error = BadResponseError(
                        "the API does not list entries oldest first (it ignores sort) and has"
                        " more than one poll can read (stopped by %s after %d pages) since %s;"
                        " older entries are not reached" % (
                            stopped_by, self._pages + self._scan.report["pages"],
                            format_utc(self._watermark)))
            except _ReachedWatermark:
                self._done = self._complete = True
            except AuditLogError as err:
                if self._expired_cursor(err):
                    self.restarts += 1
                    read = []  # re-read from the committed watermark
                    self._open()
                    continue
                self._done = True
                if not read:
                    raise
                self._error = err  # deliver what was read first, then fail the poll
        return read

    def _expired_cursor(self, err):
        """A 400 on a follow-up page: the cursor expired (or the server forgot it)."""
        if not isinstance(err, ApiError) or err.status != 400 or \
                not self._scan.report.get("pages"):
            return False
        if self.restarts >= MAX_RESTARTS:
            self._done = True
            raise BadResponseError(
                "the API refused a follow-up page %d times in one poll (HTTP 400: an expired"
                " cursor?); the next poll starts again from the watermark" % (self.restarts + 1))
        return True

    def _batch(self, read):
        poller = self._poller
        watermark = poller.checkpoint.watermark
        if self._complete:
            safe = self.settled
        elif self._order.oldest_first and self._order.last is not None:
            # Cut short: what lies before the latest second read was read in full, and only
            # a server seen sorting oldest first makes even that true.
            safe = min(self.settled, self._order.last)
        else:
            safe = watermark
        safe = max(safe, watermark)
        sent = poller.checkpoint.sent
        for entry in read:
            key = entry_key(entry)
            if key not in sent:
                self._held[key] = entry
        if poller.ordered and not (self._done and self._complete):
            ready = [k for k, e in self._held.items() if Query.entry_time(e) < safe]
        else:
            ready = list(self._held)
        entries = sorted(((Query.entry_time(self._held[k]), k, self._held.pop(k)) for k in ready),
                         key=lambda item: item[:2])
        keyless = sum(1 for dummy, key, entry in entries if entry.get("id") != key)
        return Batch([entry for dummy, dummy, entry in entries], safe, keyless)

    def next_batch_in_thread(self, callback):
        """Run ``next_batch`` in a daemon thread; ``callback(batch, error)`` gets its outcome.
        A daemon thread, not an executor's: a stopped source must not wait for a request."""
        def run():
            try:
                batch = self.next_batch()
            except Exception as err:  # pylint: disable=broad-except
                callback(None, err)
            else:
                callback(batch, None)
        thread = threading.Thread(target=run, name="audit-log-poll")
        thread.daemon = True
        thread.start()
        return thread
