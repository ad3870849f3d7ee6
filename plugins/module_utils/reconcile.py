# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconciling what a slice of a parallel read received with what the server counted.

A Scan compares the entries it received with ``total_count``; a parallel read needs more,
because a server can lie in ways that pass that comparison: it can answer a page without the
time bounds it was sent (its entries are then filtered out on the client, yet counted as
received), repeat an entry pages apart (beyond the Scan's bounded dedupe), or count and serve
a narrow range consistently while leaving entries out that the whole window counts. So every
entry a slice receives passes a ``CheckedQuery`` (through the Scan's ``matches``): it is
checked against the bounds sent, remembered by id so a repeat is dropped, and noted when it
lies on a bound shared with the next slice. The verdicts below turn those notes into
``complete``: True only when each slice received exactly its own count and the slices
together received exactly the window's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc

_SECOND = datetime.timedelta(seconds=1)


def floor_second(instant):
    return instant.replace(microsecond=0)


def ceil_second(instant):
    whole = instant.replace(microsecond=0)
    return whole if whole == instant else whole + _SECOND


class CheckedQuery(object):
    """``query`` as one Scan sees it, with every received entry checked on the way.

    ``low``/``high`` (inclusive, whole seconds) replace the window's bounds in what is sent:
    a server that truncates fractional bounds to whole seconds then filters exactly what it
    was asked (the client re-check keeps the exact window). None keeps the query's own."""

    def __init__(self, query, low=None, high=None, distinct=True):
        self._query = query
        self.low = low if low is not None else query.since
        self.high = high if high is not None else query.until
        self._widened = low is not None or high is not None
        self._seen = set() if distinct else None
        self.repeats = 0
        self.outside = 0
        self.at_low, self.at_high = set(), set()

    def __getattr__(self, name):
        return getattr(self._query, name)

    def server_params(self):
        params = self._query.server_params()
        if self._widened:
            params["created_at_min"] = format_utc(self.low)
            params["created_at_max"] = format_utc(self.high)
        return params

    def matches(self, entry):
        """The Scan calls this once for every entry it received (after its own dedupe of
        adjacent pages): a repeated id is dropped here, whatever pages apart."""
        ident = entry.get("id")
        if self._seen is not None and isinstance(ident, str):
            if ident in self._seen:
                self.repeats += 1
                return False
            self._seen.add(ident)
        created = self._query.entry_time(entry)
        if created is None or (self.low is not None and created < self.low) \
                or (self.high is not None and created > self.high):
            self.outside += 1
        elif isinstance(ident, str):
            if created == self.low:
                self.at_low.add(ident)
            if created == self.high:
                self.at_high.add(ident)
        return self._query.matches(entry)

    def release(self):
        """Forget the ids once the scan is over (the bound ids stay for the union)."""
        self._seen = None

    @property
    def distinct(self):
        return self._seen is not None


def received(report, checker):
    """Distinct entries the scan received (before the client re-check)."""
    return report["scanned"] - report["duplicates"] - checker.repeats


def verdict(report, checker, first_count, what):
    """Settle ``report``'s completeness with what ``checker`` saw; ``first_count`` is the
    total_count of the scan's first page when known (a probe's). Changes only a True (or a
    False that came from counting a repeat), never a guard's stop."""
    if report.get("stopped_by") or report.get("total_count") is None \
            or report.get("resumed") or report.get("stopped_early"):
        return report
    if checker.outside:
        report["complete"] = None
        report["incomplete_reason"] = (
            "the server answered %s with %d entries outside the time bounds it was sent, after"
            " honouring them: its count cannot be compared" % (what, checker.outside))
        return report
    got = received(report, checker)
    counts = [c for c in (first_count, report["total_count"]) if c is not None]
    if got in counts:
        report["complete"], report["incomplete_reason"] = True, None
    else:
        repeated = " (and repeated %d entries)" % checker.repeats if checker.repeats else ""
        report["complete"] = False
        report["incomplete_reason"] = (
            "the server said %d entries match %s (total_count) but sent %d%s; the result"
            " cannot be the whole answer" % (report["total_count"], what, got, repeated))
    return report


def union_verdict(pieces, total):
    """``pieces``: (report, checker) of each slice in time order, every one complete. The
    window's ``total`` must equal the distinct entries they received together (an entry on a
    bound two slices share is received by both)."""
    together = sum(received(report, checker) for report, checker in pieces)
    for (dummy, before), (dummy2, after) in zip(pieces, pieces[1:]):
        together -= len(before.at_high & after.at_low)
    if together == total:
        return {"complete": True, "incomplete_reason": None, "stopped_by": None}
    return {"complete": False, "stopped_by": None, "incomplete_reason": (
        "the server said %d entries match the window (total_count) but its %d time slices,"
        " each matching its own count, hold %d together; the result cannot be the whole"
        " answer" % (total, len(pieces), together))}
