# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Result shaping shared by the audit_log_info module, the audit_log lookup and the export.

Turns the entries a scan yielded and its report into what the plugins return: the entries
in the order the user asked for, the completeness figures, and the warnings for a result that
is not (or may not be) the whole answer.

Plain data only: no Ansible and no HTTP here, so every adapter shapes results the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import (
    NEWEST_FIRST,
    sort_entries,
)

# The keys of the scan report returned under ``scan``; the others are top-level result keys.
SCAN_KEYS = ("pages", "scanned", "matched", "duplicates", "pushed_down", "stopped_early",
             "stop_reason", "resumed", "order", "parallel")


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


def scan_summary(report, keys=SCAN_KEYS, client_sorted=None):
    """The ``scan`` block of a result (and of an evidence manifest): how the list was read.

    ``keys`` picks the report's keys to show; ``client_sorted`` is whether the entries were
    re-ordered on the client (default: whether the scan's order must be fixed; the evidence
    writer passes its own finding).
    """
    normalised = {
        "pushed_down": dict(report.get("pushed_down") or {}),
        "stopped_early": bool(report.get("stopped_early")),
        "resumed": bool(report.get("resumed")),
        "duplicates": report.get("duplicates") or 0,
        "order": dict(report.get("order") or {}),
    }
    summary = dict((key, normalised[key] if key in normalised else report.get(key))
                   for key in keys)
    summary["client_sorted"] = (needs_client_sort(report) if client_sorted is None
                                else client_sorted)
    return summary


def list_result(entries, report):
    """Result of list mode: entries in the requested order plus the completeness figures."""
    window = report.get("window") or {}
    return {
        "audit_logs": ordered_entries(entries, report),
        "total_count": report.get("total_count"),
        "truncated": bool(report.get("truncated")),
        "next_cursor": (report.get("next_cursor")
                        if report.get("truncated") or report.get("stopped_by") else None),
        "complete": report.get("complete"),
        "incomplete_reason": report.get("incomplete_reason"),
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


def truncation_warning(report):
    """The warning for a list cut short by ``max_results``, or None.

    The cap was asked for, so the cut itself is no news (``truncated`` and ``next_cursor``
    say it); what the user cannot see is that a server which ignored the requested order
    made these the first matches in *its* order, re-sorted, not the first in the order asked.
    """
    if not report.get("truncated") or not needs_client_sort(report):
        return None
    order = report.get("order") or {}
    return ("max_results cut the list short, and the server did not return the entries in"
            " the requested order (%s), so these are the first matches in the order it sent,"
            " re-sorted." % (order.get("requested") or NEWEST_FIRST))


def completeness_warning(report):
    """The warning for a result that is not, or may not be, the whole answer; or None.

    Silent when the result is known complete, and when completeness is unknown for a reason
    the user chose or that leaves the result exact anyway: ``max_results`` (a part was asked
    for), a resumed scan (earlier calls hold the rest), or an early stop on a verified order
    (nothing later could match).
    """
    complete = report.get("complete")
    if complete is True:
        return None
    if complete is None and (report.get("truncated") or report.get("resumed")
                             or report.get("stopped_early")):
        return None
    reason = report.get("incomplete_reason") or "no reason given"
    if complete is False:
        return "the result is not complete: %s" % reason
    return "the result may not be complete (it cannot be checked): %s" % reason


def field_paths(fields):
    """The ``fields`` option as a tuple of dotted paths split into keys; None returns whole
    entries. InvalidOption for an empty or malformed path."""
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = [fields]
    paths = []
    for field in fields:
        keys = field.split(".") if isinstance(field, str) else None
        if not keys or any(not key.strip() for key in keys):
            raise InvalidOption("fields", "%r is not a field name or a dotted path such as"
                                          " actor.name" % (field,))
        paths.append(tuple(keys))
    if not paths:
        raise InvalidOption("fields", "give at least one field, or leave it unset for whole"
                                      " entries")
    return tuple(paths)


def project(entry, paths):
    """The entry with only the given paths, nested as in the entry; a path the entry lacks
    (or that crosses a value that is not an object) is left out."""
    if paths is None:
        return entry
    kept = {}
    for path in paths:
        value = entry
        for key in path:
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
        else:
            target = kept
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = value
    return kept


def project_all(entries, paths):
    """``project`` over a list (the same list when every field is kept)."""
    if paths is None:
        return entries
    return [project(entry, paths) for entry in entries]
