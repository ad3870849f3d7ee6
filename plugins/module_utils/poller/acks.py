# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Acknowledged delivery: the events handed over and not yet acknowledged ("in flight").

With ``feedback``, ansible-rulebook puts each event back on a feedback queue once its rules
have processed it. An entry put on the event queue is in flight, not delivered: nothing is
recorded for it. Its acknowledgement is matched to it by key (``state.entry_key`` of the
event's ``audit_log`` payload), and only then does the adapter record it (``delivered``). An
entry in flight longer than ``timeout`` is handed over again. The clock is injected; the
asyncio glue (the queues, the waiting) lives in the adapter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import entry_key

# What ansible-rulebook puts back is the event the source put: {"audit_log": entry, ...}.
PAYLOAD = "audit_log"


def ack_key(event):
    """The key of the entry an acknowledgement is for, or None when it carries none."""
    if not isinstance(event, dict) or not isinstance(event.get(PAYLOAD), dict):
        return None
    return entry_key(event[PAYLOAD])


class InFlight(object):
    """The entries handed over and not acknowledged yet, each with its deadline.

    ``handed(entry)`` when an entry is put (again); ``ack(event)`` returns the entry it
    acknowledges (to record) or None (unknown or already acknowledged: counted in
    ``ignored``); ``overdue()`` the entries whose deadline has passed; ``wait_time()`` how long
    until the next deadline. ``acked``, ``redelivered`` and ``ignored`` count what happened.
    """

    def __init__(self, timeout, monotonic=time.monotonic):
        if isinstance(timeout, bool) or not timeout > 0:
            raise ValueError("the feedback timeout must be a positive number of seconds")
        self.timeout = float(timeout)
        self._monotonic = monotonic
        self._entries = {}     # key -> entry, in the order they were first handed over
        self._deadlines = {}   # key -> monotonic deadline
        self.acked = self.redelivered = self.ignored = 0

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    def handed(self, entry):
        """The entry was put on the event queue (first time or again); returns its key."""
        key = entry_key(entry)
        if key in self._entries:
            self.redelivered += 1
        else:
            self._entries[key] = entry
        self._deadlines[key] = self._monotonic() + self.timeout
        return key

    def ack(self, event):
        """The entry ``event`` acknowledges, now no longer in flight; None when it is not in
        flight (an unknown key, a second acknowledgement of a re-delivered entry)."""
        key = ack_key(event)
        entry = self._entries.pop(key, None) if key is not None else None
        if entry is None:
            self.ignored += 1
            return None
        del self._deadlines[key]
        self.acked += 1
        return entry

    def pending(self, keys):
        """How many of ``keys`` are still in flight."""
        return sum(1 for key in keys if key in self._entries)

    def overdue(self):
        """The entries whose deadline has passed, oldest deadline first."""
        now = self._monotonic()
        late = sorted((deadline, key) for key, deadline in self._deadlines.items()
                      if deadline <= now)
        return [self._entries[key] for dummy, key in late]

    def wait_time(self):
        """Seconds until the earliest deadline (0 when one has passed), None when nothing is
        in flight."""
        if not self._deadlines:
            return None
        return max(0.0, min(self._deadlines.values()) - self._monotonic())

    def clear(self):
        """Forget what is in flight (a stop: none of it was recorded, so a restart sends it
        again)."""
        self._entries.clear()
        self._deadlines.clear()
