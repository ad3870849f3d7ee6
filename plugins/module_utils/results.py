# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Result shaping shared by the audit_log_info module, the audit_log lookup and the export.

Turns the entries a scan yielded and its report into what the plugins return: the entries
in the order the user asked for, the completeness figures, and the warning that says when
(and how to continue after) ``max_results`` cut the list short.

Plain data only: no Ansible and no HTTP here, so every adapter shapes results the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_rfc3339

NEWEST_FIRST = "newest_first"
OLDEST_FIRST = "oldest_first"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# The keys of the scan report returned under ``scan``; the others are top-level result keys.
SCAN_KEYS = ("pages", "scanned", "matched", "duplicates", "pushed_down", "stopped_early",
             "stop_reason", "resumed", "order")


def _instant_key(entry):
    """Sort key of an entry's ``created_at``: microseconds since the epoch, or None."""
    created = entry.get("created_at") if isinstance(entry, dict) else None
    instant = parse_rfc3339(created)
    if instant is None:
        return None
    # Exact integer microseconds, so any UTC offset and any fraction length compare correctly
    # (a float timestamp would round away microseconds in far dates).
    delta = instant - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def sort_entries(entries, order):
    """Entries sorted by (``created_at``, ``id``) in the ``order`` asked for.

    Entries whose ``created_at`` is missing or not RFC 3339 cannot be placed in time; they
    keep their relative order and come last in either direction rather than failing.
    """
    if order not in (NEWEST_FIRST, OLDEST_FIRST):
        raise ValueError("order must be %s or %s, not %r" % (NEWEST_FIRST, OLDEST_FIRST, order))
    timed = []
    untimed = []
    for entry in entries:
        key = _instant_key(entry)
        if key is None:
            untimed.append(entry)
        else:
            timed.append(((key, str(entry.get("id", ""))), entry))
    timed.sort(key=lambda pair: pair[0], reverse=(order == NEWEST_FIRST))
    return [entry for _key, entry in timed] + untimed


def needs_client_sort(report):
    """Whether the entries must be re-ordered on the client.

    The scan reports the order it asked for and the order it saw; only when the two agree
    may the server's order be trusted (``unordered`` and ``unknown`` never agree).
    """
    order = report.get("order") or {}
    requested = order.get("requested") or NEWEST_FIRST
    return order.get("observed") != requested


def ordered_entries(entries, report):
    """The collected entries in the requested order, re-sorted only when needed."""
    entries = list(entries)
    if not needs_client_sort(report):
        return entries
    order = report.get("order") or {}
    return sort_entries(entries, order.get("requested") or NEWEST_FIRST)


def scan_summary(report):
    """The ``scan`` block of a result: how the list was read."""
    summary = dict((key, report.get(key)) for key in SCAN_KEYS)
    summary["pushed_down"] = dict(summary["pushed_down"] or {})
    summary["stopped_early"] = bool(summary["stopped_early"])
    summary["resumed"] = bool(summary["resumed"])
    summary["duplicates"] = summary["duplicates"] or 0
    summary["order"] = dict(summary["order"] or {})
    summary["client_sorted"] = needs_client_sort(report)
    return summary


def list_result(entries, report):
    """Result of list mode: entries in the requested order plus the completeness figures."""
    window = report.get("window") or {}
    return {
        "audit_logs": ordered_entries(entries, report),
        "total_count": report.get("total_count"),
        "truncated": bool(report.get("truncated")),
        "next_cursor": report.get("next_cursor") if report.get("truncated") else None,
        "window": {"since": window.get("since"), "until": window.get("until")},
        "scan": scan_summary(report),
    }


def id_result(entry):
    """Result of id mode: the one entry, or an empty list when there is none."""
    entries = [] if entry is None else [entry]
    return {
        "audit_logs": entries,
        "total_count": len(entries),
        "truncated": False,
        "next_cursor": None,
    }


def truncation_warning(report, returned, how_to_continue):
    """The warning for a list cut short by ``max_results``, or None when it was complete.

    ``how_to_continue`` is the adapter's own advice (the module resumes with ``cursor``,
    the lookup cannot), so the user always learns what to do next.
    """
    if not report.get("truncated"):
        return None
    message = ("max_results cut the list short: %d matching %s returned and more match"
               % (returned, "entry" if returned == 1 else "entries"))
    total = report.get("total_count")
    if isinstance(total, int) and not isinstance(total, bool):
        message += " (the server counts %d entries before client-side filters)" % total
    message += ". " + how_to_continue
    if needs_client_sort(report):
        order = report.get("order") or {}
        message += (" The server did not return the entries in the requested order (%s), so"
                    " these are the first matches in the order it sent, re-sorted."
                    % (order.get("requested") or NEWEST_FIRST))
    return message
