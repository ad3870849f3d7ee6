# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow the audit log as it grows: every matching entry once, across polls and restarts.

The event source (``extensions/eda/plugins/event_source/audit_log.py``) is a thin asyncio
adapter over this package; nothing here knows Ansible or asyncio, and the clock is injected.
``poll.py`` reads, ``state.py`` keeps the checkpoint (``lock.py``: one source per state
file), ``acks.py`` tracks the events awaiting ansible-rulebook's acknowledgement (feedback),
``outage.py`` says which errors stop the source.

How a poll reads
    The poller keeps a *watermark* W and the keys (ids) it *sent* whose ``created_at`` is at
    or after W. A poll that starts at time t (our clock) is ONE scan of ``W <= created_at <
    H``, oldest first (pushed down as ``created_at_min``/``created_at_max`` and
    ``sort=created_at:asc``, re-checked on the client). The horizon H is ``t + settle`` (an
    API clock ahead of ours is absorbed; an entry dated later waits for a later poll), or
    ``t - settle`` with ``ordered``. The scan is cut into batches of ``batch`` entries; each
    batch drops the keys already sent, is delivered ordered by (``created_at``, key), then
    committed: W moves to the batch's safe watermark and the keys older than W are forgotten.
    When the scan has read to its end, the safe watermark is ``t - settle``; when it has not
    (more batches follow, or ``max_pages``, the deadline or an error cut it), it is the latest
    second read, and only when the server was seen sorting oldest first (everything before
    that second has then been read); otherwise W stays. A server seen sorting newest first
    (one that ignores ``sort``) is read only back to W. Each poll therefore re-reads the last
    ``settle`` seconds (plus the time since the previous poll); the keys remembered are those
    of ``[t - settle - interval, t + settle]``, whatever the server sends.

Why each entry is delivered exactly once
    Assumption (what ``settle`` means): an entry is listed by the API, for good, no later than
    ``settle`` seconds after its ``created_at``, measured on our clock. This absorbs the API's
    ingestion delay, the offset between its clock and ours, and ``created_at`` being truncated
    to whole seconds. An entry listed later than that may be missed (never duplicated).

    *No miss.* Take an entry E with ``created_at`` c >= since. W starts at ``since`` <= c. A
    poll that starts at t while E is not listed yet has t < c + settle (assumption), so a
    complete poll moves W to at most ``t - settle`` < c, and a cut-short one to at most the
    latest second it read in full order, which is <= c unless E was read (the order says
    every entry before that second was). The first poll that starts once E is listed and
    with ``c < t + settle`` (H) therefore reads ``created_at >= W`` with W <= c, and sees E.
    With ``ordered``, E is delivered only by a batch whose safe watermark is above c, and W
    never passes c before that batch: entries of the last second read are held in the poll
    (not dropped) until the scan has moved past that second. A poll moves W only after its
    batch was delivered; a failed poll moves nothing; a 400 on a follow-up page (an expired
    cursor) restarts the scan from the committed W.

    *No duplicate.* E is delivered only when its key is not in ``sent``, and joins ``sent`` as
    it is delivered. Its key is forgotten only once c < W, and from then on no poll reads it
    again (each reads ``created_at >= W``, and W never goes back, even if our clock does).
    Entries that share a second are compared strictly: an entry exactly at W stays
    remembered and is re-read, and the server rounds a fractional ``created_at_min`` up to
    the next whole second, which is also exactly where ``c < W`` forgets. An entry without a
    usable ``id`` is keyed by the SHA-256 of its content (``state.entry_key``).

    *Restarts.* Right after each entry is handed over, its key is appended to a journal
    beside the state file (one ``write``; the cost does not grow with history); after each
    batch the snapshot (watermark and keys) is rewritten atomically and the journal emptied;
    at start the snapshot plus the journal is the state. A killed process loses no record
    (``write`` returned: the kernel has it), so a restart resumes with no gap and no duplicate.
    The journal reaches the disk at each batch and at least every second
    (``state.JOURNAL_SYNC_SECONDS``): only an operating system crash can take back records,
    those of the last second, whose events are then sent again. One source per state file (a
    lock); a state whose watermark lies ahead of our clock is refused (nothing would be sent
    until the clock caught up).

    *Delivered, without feedback.* The adapter hands an entry over (puts it on
    ansible-rulebook's queue, which holds one event) and records it with nothing in between
    that a stop could interrupt. "Delivered" means put on that queue: an event the engine had
    taken but not yet processed when it stopped is recorded and not sent again (lost to the
    rules). Exactly once holds up to the queue, not up to the rules.

    *Delivered, with feedback (acknowledged delivery).* ansible-rulebook puts each event back
    on a feedback queue once its rules have processed it (``acks.py``). Now an entry handed
    over is only *in flight*: nothing is recorded. An acknowledgement is matched to the entry
    in flight by its key and only then is the entry recorded (``delivered``: ``sent`` and the
    journal). Entries are handed over without waiting for each acknowledgement, but a batch
    is committed only once every entry of it was acknowledged, and the next batch is read
    only after that; so W never passes an entry in flight, and ``sent`` holds only
    acknowledged ones. *No loss:* an entry the rules never processed has no record and W lies
    at or before it, so after a stop (of either process, at any point) the next run reads it
    again (No miss above) and, as it is not in ``sent``, hands it over again. *Duplicates:*
    the next run hands over again exactly the entries of the interrupted batch without a
    record: those the rules never saw, and those they processed but whose acknowledgement
    had not been read and recorded when the stop came (the acknowledgement was in the feedback
    queue, or in the instant between reading and recording it). No other entry is sent twice,
    for the No duplicate reasons above. An entry whose acknowledgement does not come within
    ``feedback_timeout`` is handed over again, with a warning (an engine that dropped it); if
    it was only slow, the rules see it twice and its second acknowledgement is ignored, as are
    acknowledgements of keys not in flight. The acknowledgement comes when the rules have
    matched the event, before the actions they trigger have run (they run one after another):
    an action not finished when ansible-rulebook was killed is not run again, in either mode
    (``tests/eda/e2e_feedback.py`` counts them).

    *In PostgreSQL* (``state_dsn``; ``pg_store.py``, ``pg_lease.py``). The journal is a table:
    each record is one autocommit INSERT, durable (committed) when it returns, and each save
    rewrites the key's row and deletes its journal rows in one transaction, so the argument
    above holds with "the kernel has it" replaced by "the database committed it" (no operating
    system crash takes a record back). Only the source holding the key's advisory lock
    delivers; each lead takes a new fencing token and every record and save carries it, so a
    source that lost its session cannot move the checkpoint. When the database restarts or
    cannot be reached, the source stops handing over (the failed record or save ends the batch,
    and it hands nothing over until it leads again). When it leads again and its previous token
    is still the key's (nobody led meanwhile), its memory is the truth (it includes the entry
    whose record failed) and is saved: no gap, no duplicate. Otherwise it reloads the stored
    checkpoint. So exactly one entry can be sent twice per failure: the one handed over whose
    record failed because the session was lost, when another source took the key over (or this
    one died) before this one could save it; the next leader does not know it was sent. A
    standby that takes over resumes from the stored checkpoint, which holds every other entry
    delivered, so it sends no other duplicate and skips nothing.

    *Order.* A batch is in creation order, and batches follow each other in time. An entry the
    API lists late (within ``settle``) is delivered when it appears, so it can follow a newer
    one it was created before. With ``ordered``, only settled entries are read (H = ``t -
    settle``) and an entry is released once the scan has passed its second: events then come
    in strict (``created_at``, key) order, at the cost of ``settle`` seconds of latency.

    *Bounds.* A poll is one scan: a repeated cursor fails it (what was read is delivered
    first), and ``max_pages`` and ``deadline`` end it early with the partial watermark above,
    so the next poll goes on from there. Against a server that ignores ``sort`` as well as
    ``created_at_min`` and lists the whole log oldest first, nothing can be skipped. A server
    whose order is never verified and whose list never ends (endless cursors) leaves W where
    it is, so the remembered keys would grow with every poll: ``max_remembered`` caps them,
    forgetting the oldest and moving W up to the oldest kept (no duplicate can follow; an
    entry that server never listed before may then be missed, and the adapter says so).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.poll import (
    Poll,
    _PollQuery,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import (
    Checkpoint,
    CheckpointStore,
    FileStore,
    entry_key,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import SOURCE_SETTLE
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    utc_now,
)


DEFAULT_INTERVAL = 5.0
DEFAULT_BATCH = 500
# A poll is bounded as a list read is: a backlog larger than this goes on in the next poll.
DEFAULT_MAX_PAGES = 1000
DEFAULT_POLL_DEADLINE = 300.0
# The most keys remembered. Only a server that defeats both the order check and the end of its
# list (endless cursors, unsorted) can get here; beyond it the oldest keys are forgotten and W
# moves up to them (a possible miss, announced, rather than memory without bound).
DEFAULT_MAX_REMEMBERED = 200000


class AuditLogPoller(object):
    """Polls with an ``AuditLogClient``; the adapter delivers each batch, then ``commit``s it.

    ``filters``: the module's filter options (``since``/``until`` excluded). ``since``: where to
    start when there is no state (the forms of the module's ``since``; default now).
    ``store``: a ``CheckpointStore`` (default: a ``FileStore`` of ``state_file``, or memory).
    ``max_pages`` and ``deadline`` (seconds) bound one poll. ``close()`` releases the store.
    """

    # long: option checks, then the state's load and its checks, each with its own message
    def __init__(self, client, filters=None, since=None, settle=SOURCE_SETTLE,
                 interval=DEFAULT_INTERVAL, state_file=None, ordered=False, batch=DEFAULT_BATCH,
                 clock=utc_now, store=None, max_pages=DEFAULT_MAX_PAGES,
                 deadline=DEFAULT_POLL_DEADLINE, monotonic=time.monotonic,
                 max_remembered=DEFAULT_MAX_REMEMBERED):
        self.client = client
        self.filters = dict(filters or {})
        for name in ("since", "until"):
            if self.filters.get(name) is not None:
                raise InvalidOption(name, "is not a filter of the event source; use since")
        self.settle = _seconds("settle", settle, minimum=0)
        self.interval = _seconds("interval", interval, minimum=0.1)
        self.batch = _whole("batch", batch)
        self.max_pages = _whole("max_pages", max_pages)
        self.max_remembered = _whole("max_remembered", max_remembered)
        self.deadline = _seconds("deadline", deadline, minimum=0.001)
        self.ordered = bool(ordered)
        self.state_file = state_file
        self.clock = clock
        self.monotonic = monotonic
        now = clock()
        self.query(now)  # every filter is checked once, before any request
        start = self._start(since, now)
        self.store = store or (FileStore(state_file) if state_file else CheckpointStore())
        try:
            checkpoint, records = self.store.load()
            if checkpoint is not None and checkpoint.watermark > now:
                raise _ahead(state_file, self.store, checkpoint.watermark, now)
            self.resumed = checkpoint is not None
            if checkpoint is None:
                checkpoint = Checkpoint(start)
            for key, created in records:
                if created >= checkpoint.watermark:
                    checkpoint.sent[key] = created
            # Recorded at once (a restart before the first poll must not move the start), and
            # the journal compacted into the snapshot.
            self.store.save(checkpoint)
        except BaseException:
            self.store.close()
            raise
        self.checkpoint = checkpoint

    @staticmethod
    def _start(since, now):
        """The first watermark. ``now`` (the default) means its whole second: ``created_at``
        has whole seconds, so an entry made in the same second as the start is new."""
        if since is None or str(since).strip().lower() == "now":
            return now.replace(microsecond=0)
        start = Query.from_options({"since": since}, now=now).since
        if start > now:
            raise InvalidOption("since", "lies in the future (%s); nothing would be sent until"
                                " then" % format_utc(start))
        return start

    def query(self, watermark, until=None):
        """The Query of a poll: the filters, ``watermark <= created_at < until``, oldest
        first."""
        options = dict(self.filters, since=watermark, until=until, order="oldest_first")
        return _PollQuery.from_options(options)

    def start_poll(self):
        return Poll(self, self.clock(), self.monotonic)

    def delivered(self, entry):
        """Record one delivered entry (in the store's journal): call it right after handing
        the entry over, with nothing that can be interrupted in between (with feedback: when
        its acknowledgement is read)."""
        key = entry_key(entry)
        created = Query.entry_time(entry)
        self.checkpoint.sent[key] = created
        self.store.record(key, created)

    def commit(self, batch):
        """After every entry of the batch was ``delivered``: move the watermark, forget the
        keys it has passed, save the state. Returns how many keys the ``max_remembered`` cap
        made it forget (0 but against a server that cannot be followed; see Bounds)."""
        checkpoint = self.checkpoint
        for entry in batch.entries:
            if entry_key(entry) not in checkpoint.sent:
                raise ValueError("commit before every entry of the batch was delivered")
        checkpoint.forget_before(batch.watermark)
        dropped = 0
        if len(checkpoint.sent) > self.max_remembered:
            times = sorted(checkpoint.sent.values())
            before = len(checkpoint.sent)
            checkpoint.forget_before(times[len(times) - self.max_remembered])
            dropped = before - len(checkpoint.sent)
        self.store.save(checkpoint)
        return dropped

    def close(self):
        self.store.close()


def _ahead(state_file, store, watermark, now):
    """The refusal of a checkpoint ahead of our clock, naming where it is kept."""
    if state_file:
        option, where, remedy = "state_file", state_file, "move the file away"
    else:  # the PostgreSQL store (state_dsn)
        option, where, remedy = ("state_dsn", "the checkpoint of state_key %s"
                                 % getattr(store, "key", None), "delete its row")
    return InvalidOption(option, "%s says every entry up to %s was delivered, which is ahead"
                         " of this host's clock (%s): the clock went back or the checkpoint"
                         " comes from another host; fix the clock, or %s to start from"
                         " 'since'" % (where, format_utc(watermark), format_utc(now), remedy))


def _seconds(name, value, minimum):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidOption(name, "must be a number of seconds")
    if isinstance(value, bool) or not minimum <= number <= 86400:
        raise InvalidOption(name, "must be from %s to 86400 seconds" % minimum)
    return number


def _whole(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOption(name, "must be a whole number of at least 1")
    return value
