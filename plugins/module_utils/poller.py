# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow the audit log as it grows: every matching entry once, across polls and restarts.

The event source (``extensions/eda/plugins/event_source/audit_log.py``) is a thin asyncio
adapter over this module; nothing here knows Ansible or asyncio, and the clock is injected.

How a poll reads
    The poller keeps a *watermark* W and the ids it *sent* whose ``created_at`` is at or after
    W. A poll that starts at time t (our clock) lists ``created_at >= W``, oldest first (pushed
    down as ``created_at_min`` and ``sort=created_at:asc``, re-checked on the client), drops
    the ids already sent, and delivers the rest ordered by (``created_at``, ``id``). Once the
    poll's entries are delivered, W becomes ``max(W, t - settle)`` and every sent id older than
    the new W is forgotten. Each poll therefore re-reads the last ``settle`` seconds (plus the
    time since the previous poll); memory holds the ids of that window only.

Why each entry is delivered exactly once
    Assumption (what ``settle`` means): an entry is listed by the API, for good, no later than
    ``settle`` seconds after its ``created_at``, measured on our clock. This absorbs the API's
    ingestion delay, the offset between its clock and ours, and ``created_at`` being truncated
    to whole seconds.

    *No miss.* Take an entry E with ``created_at`` c >= since. W starts at ``since`` <= c. A
    poll that starts at t while E is not listed yet has t < c + settle (assumption), so the
    new W, ``max(W, t - settle)``, is still <= c. The first poll that starts once E is listed
    therefore reads ``created_at >= W`` with W <= c, and sees E. A poll moves W only after it
    was read and delivered; a failed poll moves nothing.

    *No duplicate.* E is delivered only when its id is not in ``sent``, and joins ``sent`` as it
    is delivered. Its id is forgotten only once c < W, and from then on no poll reads it again
    (each reads ``created_at >= W``, and W never goes back, even if our clock does). Entries
    that share a second are compared strictly: an entry exactly at W stays remembered and is
    re-read, and the server rounds a fractional ``created_at_min`` up to the next whole second,
    which is also exactly where ``c < W`` forgets.

    *Restarts.* After each delivered entry, and after each batch, the watermark and the
    remembered ids go to the state file (atomically: a private temporary file, fsync, rename),
    so a restart resumes from the file (``since`` is then ignored) with no gap and no
    duplicate. The adapter hands an entry over and records it with nothing in between that a
    stop could interrupt. "Delivered" means handed to the consumer: an event ansible-rulebook
    had taken but not yet acted on when it was stopped is not sent again (without its
    persistence feature, ansible-rulebook acknowledges nothing).

    *Order.* A batch is in creation order, and batches follow each other in time. An entry the
    API lists late (within ``settle``) is delivered when it appears, so it can follow a newer
    one it was created before. With ``ordered``, an entry is held back until it has settled
    (``created_at < t - settle``): events then come in strict (``created_at``, ``id``) order,
    at the cost of ``settle`` seconds of latency, and nothing needs remembering.

    *Large backlogs* (``since`` far back) are read ``batch`` entries at a time with the scan's
    resume token; after a batch that was cut short, W moves only up to the last entry's
    second, and only when the server was seen to sort oldest first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    InvalidOption,
    TLSError,
    UnsafeRedirectError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import atomic_write
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import SOURCE_SETTLE
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
    utc_now,
)

DEFAULT_INTERVAL = 5.0
DEFAULT_BATCH = 500
STATE_VERSION = 1
# API statuses that another poll will not fix: a key or a request that is wrong.
_RETRYABLE_STATUSES = frozenset([408, 409, 429])


def _sort_key(entry):
    return (Query.entry_time(entry), str(entry.get("id")))


class Checkpoint(object):
    """The watermark and the ids delivered at or after it (id -> created_at)."""

    def __init__(self, watermark, sent=None):
        self.watermark = watermark
        self.sent = dict(sent or {})

    def forget_before(self, watermark):
        """Move the watermark forward (never back) and drop the ids it has passed."""
        if watermark > self.watermark:
            self.watermark = watermark
        self.sent = dict((i, c) for i, c in self.sent.items() if c >= self.watermark)

    def to_json(self):
        return {
            "version": STATE_VERSION,
            "watermark": format_utc(self.watermark),
            "sent": [{"id": i, "created_at": format_utc(c)}
                     for i, c in sorted(self.sent.items(), key=lambda item: (item[1], item[0]))],
        }

    @classmethod
    def from_json(cls, data):
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a version %d state" % STATE_VERSION)
        watermark = parse_rfc3339(data.get("watermark"))
        if watermark is None or not isinstance(data.get("sent"), list):
            raise ValueError("no watermark or no list of sent ids")
        sent = {}
        for item in data["sent"]:
            created = parse_rfc3339(item.get("created_at")) if isinstance(item, dict) else None
            if created is None or not isinstance(item.get("id"), str):
                raise ValueError("a sent id without its created_at")
            sent[item["id"]] = created
        return cls(watermark, sent)


def load_state(path):
    """The checkpoint in ``path``, or None when there is no such file."""
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except (IOError, OSError) as err:
        if not os.path.exists(path):
            return None
        raise InvalidOption("state_file", "cannot read %s: %s" % (path, err.strerror))
    try:
        return Checkpoint.from_json(json.loads(text))
    except ValueError as err:
        raise InvalidOption("state_file", "%s is not a state file of this source (%s); move it"
                                          " away to start from 'since'" % (path, err))


def save_state(path, checkpoint):
    """Write the checkpoint atomically (``files.atomic_write``: private, flushed, renamed)."""
    atomic_write(path, json.dumps(checkpoint.to_json(), separators=(",", ":")).encode("utf-8"))


def is_fatal(err):
    """Whether an error of a poll means stopping: a refused key, a bad option or address, an
    untrusted certificate, a request the API rejects. Outages (connection errors, timeouts,
    429 and 5xx after the client's retries, a malformed answer) are not: the next poll retries."""
    if isinstance(err, (AuthError, InvalidOption, TLSError, UnsafeRedirectError)):
        return True
    if isinstance(err, ApiError):
        return err.status is not None and 400 <= err.status < 500 \
            and err.status not in _RETRYABLE_STATUSES
    return False


class Batch(object):
    """Entries to deliver, and the watermark that is safe once they are delivered."""

    def __init__(self, entries, watermark):
        self.entries = entries
        self.watermark = watermark


class Poll(object):
    """One read of ``created_at >= W``, batch by batch. ``next_batch`` does the I/O (run it in
    a thread); it returns None once the read is complete."""

    def __init__(self, poller, started):
        self._poller = poller
        self.started = started
        self._settled = started - datetime.timedelta(seconds=poller.settle)
        self._query = poller.query(poller.checkpoint.watermark)
        self._cursor = None
        self._done = False

    def next_batch(self):
        if self._done:
            return None
        poller = self._poller
        scan = poller.client.scan(self._query, max_results=poller.batch, cursor=self._cursor)
        entries = sorted(scan, key=_sort_key)
        report = scan.report
        self._cursor = report["next_cursor"] if report["truncated"] else None
        self._done = self._cursor is None
        watermark = self._settled
        if not self._done:
            # Cut short: only what lies before the last entry's second was read in full, and
            # only a server seen sorting oldest first makes even that true.
            ascending = report["order"]["observed"] == "oldest_first"
            last = Query.entry_time(entries[-1]) if entries else None
            watermark = min(watermark, last) if ascending and last else poller.checkpoint.watermark
        sent = poller.checkpoint.sent
        fresh = [e for e in entries if e.get("id") not in sent]
        if poller.ordered:
            fresh = [e for e in fresh if Query.entry_time(e) < watermark]
        return Batch(fresh, watermark)


class AuditLogPoller(object):
    """Polls with an ``AuditLogClient``; the adapter delivers each batch, then ``commit``s it.

    ``filters``: the module's filter options (``since``/``until`` excluded). ``since``: where to
    start when there is no state file (the forms of the module's ``since``; default now).
    """

    def __init__(self, client, filters=None, since=None, settle=SOURCE_SETTLE,
                 interval=DEFAULT_INTERVAL, state_file=None, ordered=False, batch=DEFAULT_BATCH,
                 clock=utc_now):
        self.client = client
        self.filters = dict(filters or {})
        for name in ("since", "until"):
            if self.filters.get(name) is not None:
                raise InvalidOption(name, "is not a filter of the event source; use since")
        self.settle = _seconds("settle", settle, minimum=0)
        self.interval = _seconds("interval", interval, minimum=0.1)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidOption("batch", "must be a whole number of at least 1")
        self.batch = batch
        self.ordered = bool(ordered)
        self.state_file = state_file
        self.clock = clock
        now = clock()
        self.query(now)  # every filter is checked once, before any request
        checkpoint = load_state(state_file) if state_file else None
        self.resumed = checkpoint is not None
        if checkpoint is None:
            checkpoint = Checkpoint(self._start(since, now))
            if state_file:
                # Recorded at once: a restart before the first poll must not move the start.
                save_state(state_file, checkpoint)
        self.checkpoint = checkpoint

    @staticmethod
    def _start(since, now):
        """The first watermark. ``now`` (the default) means its whole second: ``created_at``
        has whole seconds, so an entry made in the same second as the start is new."""
        if since is None or str(since).strip().lower() == "now":
            return now.replace(microsecond=0)
        return Query.from_options({"since": since}, now=now).since

    def query(self, watermark):
        """The Query of a poll: the filters, ``created_at >= watermark``, oldest first."""
        options = dict(self.filters, since=watermark, order="oldest_first")
        return Query.from_options(options)

    def start_poll(self):
        return Poll(self, self.clock())

    def delivered(self, entry):
        """Record one delivered entry (and save the state, when there is a file): call it right
        after handing the entry over, with nothing that can be interrupted in between."""
        self.checkpoint.sent[entry.get("id")] = Query.entry_time(entry)
        if self.state_file:
            save_state(self.state_file, self.checkpoint)

    def commit(self, batch):
        """After every entry of the batch was ``delivered``: move the watermark, forget the
        ids it has passed, save the state."""
        for entry in batch.entries:
            if entry.get("id") not in self.checkpoint.sent:
                raise ValueError("commit before every entry of the batch was delivered")
        self.checkpoint.forget_before(batch.watermark)
        if self.state_file:
            save_state(self.state_file, self.checkpoint)


def _seconds(name, value, minimum):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidOption(name, "must be a number of seconds")
    if isinstance(value, bool) or not minimum <= number <= 86400:
        raise InvalidOption(name, "must be from %s to 86400 seconds" % minimum)
    return number


class Outage(object):
    """Failed polls in a row, and what to log about them: the first failure, then the 2nd,
    4th, 8th... (a long outage stays visible without flooding the log), and the recovery.
    Messages come from ``str(err)`` of the client's errors, which never hold the key."""

    def __init__(self, clock=utc_now):
        self.clock = clock
        self.failures = 0
        self.began = None

    def failed(self, err):
        self.failures += 1
        if self.began is None:
            self.began = self.clock()
        if self.failures & (self.failures - 1):
            return None  # not a power of two
        return "audit log poll failed (%d in a row, for %ds): %s; retrying" % (
            self.failures, self._elapsed(), err)

    def recovered(self):
        if not self.failures:
            return None
        message = "audit log polling resumed after %d failed poll(s) over %ds" % (
            self.failures, self._elapsed())
        self.failures, self.began = 0, None
        return message

    def _elapsed(self):
        return int((self.clock() - self.began).total_seconds())
