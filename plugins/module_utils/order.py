# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canonical order of audit-log entries, defined once.

Entries are ordered by ``created_at`` (as an exact instant, not as text), then by ``id``, in
the direction asked for; entries without a readable ``created_at`` cannot be placed in time and
come last in either direction. The list results (module, lookup) and the evidence writer both
order by this key. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_rfc3339

NEWEST_FIRST = "newest_first"
OLDEST_FIRST = "oldest_first"
ORDERS = (NEWEST_FIRST, OLDEST_FIRST)

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def instant_micros(text):
    """Microseconds since the epoch of an RFC 3339 string, or None when it is not one.

    Exact integers, so any UTC offset and any fraction length compare correctly (a float
    timestamp would round away microseconds in far dates).
    """
    instant = parse_rfc3339(text)
    if instant is None:
        return None
    delta = instant - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def is_descending(order):
    """True for newest first; ValueError for anything but the two order names."""
    if order not in ORDERS:
        raise ValueError("order must be %s or %s, not %r" % (NEWEST_FIRST, OLDEST_FIRST, order))
    return order == NEWEST_FIRST


def _time_and_id(entry):
    """``(micros or None, id text)``: the two fields the order reads."""
    ident = entry.get("id")
    if not isinstance(ident, str):
        # Any deterministic spelling ranks a non-text id; the core does not import evidence.
        ident = json.dumps(ident, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return instant_micros(entry.get("created_at")), ident


def sort_key(entry, descending):
    """The canonical key of an entry; sort with ``reverse=descending``.

    The first element ranks timed against untimed entries so that, read in the requested
    direction, untimed ones always come after (among themselves, by id).
    """
    micros, ident = _time_and_id(entry)
    if micros is None:
        return (0 if descending else 1, 0, ident)
    return (1 if descending else 0, micros, ident)


def sort_entries(entries, order):
    """Entries in the canonical ``order``; untimed ones last, in the order they came.

    A list result keeps untimed entries as the server sent them (nothing better is known of
    them); the evidence writer, which must give the same bytes whatever the arrival order,
    ranks them by id with ``sort_key`` instead.
    """
    descending = is_descending(order)
    timed = []
    untimed = []
    for entry in entries:
        if isinstance(entry, dict) and instant_micros(entry.get("created_at")) is not None:
            timed.append((sort_key(entry, descending), entry))
        else:
            untimed.append(entry)
    timed.sort(key=lambda pair: pair[0], reverse=descending)
    return [entry for _key, entry in timed] + untimed


class OrderWatch(object):
    """Watches the creation times go by: which order the server really used, and whether the
    requested one has held on every entry so far (the condition for stopping early)."""

    def __init__(self, requested):
        self.newest_first = requested == NEWEST_FIRST
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
        return self.observed == (NEWEST_FIRST if self.newest_first else OLDEST_FIRST)

    @property
    def observed(self):
        if self.broken or (self.seen_asc and self.seen_desc):
            return "unordered"
        if self.seen_desc:
            return NEWEST_FIRST
        if self.seen_asc:
            return OLDEST_FIRST
        return "unknown"
