# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scan report, spelled once: its keys, and how its completeness is settled.

A Scan, a ParallelScan (the slices' reports merged) and the test fakes build their report
here. ``complete`` is True, False or None (cannot be known) with ``incomplete_reason``
whenever it is not True, and ``stopped_by`` naming the guard that ended a read early.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def scan_report(**values):
    """A report of a scan that has read nothing yet; ``values`` replace (or add) keys. The
    completeness keys are added by whoever settles them (``unsettled`` before the read)."""
    report = {
        "pages": 0,
        "scanned": 0,
        "matched": 0,
        "duplicates": 0,
        "total_count": None,
        "pushed_down": {},
        "stopped_early": False,
        "stop_reason": None,
        "truncated": False,
        "next_cursor": None,
        "resumed": False,
        "window": {"since": None, "until": None},
        "order": {"requested": "newest_first", "sort_sent": None, "observed": "unknown"},
    }
    report.update(values)
    return report


def unsettled():
    """The completeness keys before a read has ended: nothing is known yet."""
    return {"complete": None, "incomplete_reason": None, "stopped_by": None}


def unknown(report, reason):
    """Completeness cannot be known, and why."""
    report["complete"] = None
    report["incomplete_reason"] = reason


def settle_at_end(report, received, totals):
    """The list was read to its end: compare the entries received (duplicates dropped) with
    the ``total_count`` of the first or the last page (``totals``, in page order)."""
    if report["resumed"]:
        unknown(report, "resumed from a cursor: entries read by earlier calls are not counted"
                        " here, so the count cannot be compared")
    elif not totals:
        unknown(report, "the server sent no total_count to compare with")
    elif received in (totals[0], totals[-1]):
        report["complete"] = True
    else:
        report["complete"] = False
        report["incomplete_reason"] = (
            "the server said %d entries match the request (total_count) but sent %d;"
            " the result cannot be the whole answer" % (totals[-1], received))


def stopped(report, by, reason):
    """A guard (``by``) ended the read before the end: the server has more."""
    report["stopped_by"] = by
    report["complete"] = False
    report["incomplete_reason"] = "%s; the server has more (resume with next_cursor)" % reason


def merged_completeness(reports):
    """The whole read is complete when every slice is (each compares what it received with
    its own slice's ``total_count``); one incomplete slice makes it incomplete, and one that
    cannot be judged makes it unknown."""
    for verdict in (False, None):
        for number, report in enumerate(reports, 1):
            if report.get("complete") is verdict:
                return {"complete": verdict, "stopped_by": report.get("stopped_by"),
                        "incomplete_reason": "time slice %d of %d: %s" % (
                            number, len(reports), report.get("incomplete_reason"))}
    return {"complete": True, "incomplete_reason": None, "stopped_by": None}
