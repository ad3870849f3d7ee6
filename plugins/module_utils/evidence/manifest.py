# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An evidence bundle's manifest: what was asked, what was written, and what can be claimed.

Two judgements live here and nowhere else:

* completeness: did the export receive every entry the server said its list holds? Only
  stated when the comparison means something (a full scan with a ``total_count``); otherwise
  the manifest says why it cannot be judged, never "complete" by default;
* finality: is the window over? Entries may still arrive for a window whose end is not older
  than ``settle``, so a bundle of such a window may be re-exported with more lines.

The ``run`` section records how and by whom this particular run went; it is left out when a
new run decides whether the bundle changed, so a re-run over a past window is a no-op.
Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import hashlib
import json
import os
import socket

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import MANIFEST_NAME
from ansible_collections.nirvana_labs.audit.plugins.module_utils import settle
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
)

MANIFEST_FORMAT = 1
COLLECTION_NAME = "nirvana_labs.audit"

COMPLETE = "complete"
MISMATCH = "mismatch"
TRUNCATED = "truncated"
STOPPED = "stopped"
NOT_COMPARABLE = "not_comparable"


def finality(until, now, settle_seconds):
    """Whether the window is final: it has an end, and that end is ``settle`` or more ago.

    ``until`` is the resolved RFC 3339 end of the window (exclusive) or None.
    """
    result = {"final": False, "settle_seconds": settle_seconds, "settles_at": None}
    end = parse_rfc3339(until) if until else None
    if until and end is None:
        raise InvalidOption("until", "%r is not an instant between the years 0001 and 9999"
                                     % (until,))
    if end is None:
        result["reason"] = ("the window has no end (until is not set), so entries can still"
                            " arrive in it")
        return result
    settles_at = settle.settles_at(end, settle_seconds)
    if settles_at is None:
        # datetime ends at 9999-12-31; a window that settles later can never be final.
        raise InvalidOption("settle", "%s after until=%s is past the year 9999; choose an"
                                      " earlier until or a shorter settle"
                                      % (_human_seconds(settle_seconds), format_utc(end)))
    result["settles_at"] = format_utc(settles_at)
    if settle.is_final(end, settle_seconds, now):
        result["final"] = True
        result["reason"] = "the window ended at %s, %s or more before this run" % (
            format_utc(end), _human_seconds(settle_seconds))
    else:
        result["reason"] = ("the window ends at %s, less than %s before this run; entries can"
                            " still arrive until %s" % (format_utc(end),
                                                        _human_seconds(settle_seconds),
                                                        format_utc(settles_at)))
    return result


def _human_seconds(seconds):
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ss" % (seconds,)


def _int_or_none(value):
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def completeness(report, written):
    """Compare what the server said its list holds with what the export received.

    ``report`` is the scan report. The server's ``total_count`` counts the list it serves
    for the parameters it was sent (on a seed-generation server: the whole log). So the count
    that must equal it is the number of distinct entries the server sent (``scanned`` less
    the ``duplicates`` repeated across a page boundary), not the number written: the client
    drops, on purpose, entries outside filters the server does not apply. The comparison
    means something only for a scan that read the whole list, from its start to its end.
    """
    total = _int_or_none(report.get("total_count"))
    scanned = _int_or_none(report.get("scanned"))
    duplicates = _int_or_none(report.get("duplicates")) or 0
    received = None if scanned is None else scanned - duplicates
    result = {
        "total_count": total,
        "received": received,
        "duplicates_sent": duplicates,
        "written": written,
        "complete": None,
        # The scan's own finding, recorded as it said it (see Scan).
        "incomplete_reason": report.get("incomplete_reason"),
    }
    result.update(_not_read_to_the_end(report, written, total)
                  or _judged_by_count(report, written, total, received))
    return result


def _not_read_to_the_end(report, written, total):
    """The verdict of a scan that did not read the whole list, or None when it did."""
    if report.get("truncated"):
        return {"status": TRUNCATED, "complete": False,
                "reason": "max_results stopped the export after %d entries; more entries"
                          " match" % written}
    if report.get("stopped_by"):
        return {"status": STOPPED, "complete": False,
                "reason": report.get("incomplete_reason") or (
                    "%s stopped the export before the end of the list" % report["stopped_by"])}
    if report.get("resumed"):
        return {"status": NOT_COMPARABLE,
                "reason": "the export resumed from a cursor, so it holds only part of the list"}
    if report.get("stopped_early"):
        why = report.get("stop_reason") or "the scan stopped before the end of the list"
        return {"status": NOT_COMPARABLE,
                "reason": "not judged by count: the server's total_count (%s) includes entries"
                          " beyond the window that were never read. Paging stopped early"
                          " because it %s" % ("none" if total is None else total,
                                              why.rstrip("."))}
    return None


def _judged_by_count(report, written, total, received):
    """The verdict of a scan that read to the end: the server's count against what came."""
    if total is None or received is None:
        return {"status": NOT_COMPARABLE,
                "reason": "the server sent no total_count, so completeness cannot be judged"}
    # The scan compared the same figures as they arrived (the count of the first page or of
    # the last: a live log may grow during the scan); its verdict wins when it has one.
    if report.get("complete") is True or (report.get("complete") is None and received == total):
        if received == total:
            reason = "the server's total_count (%d) equals the distinct entries received" % total
        else:
            reason = ("the server's total_count (%d on its first page) equals the distinct"
                      " entries received" % received)
        if written != received:
            reason += ("; %d of them were outside filters applied by the client, so %d were"
                       " written" % (received - written, written))
        return {"status": COMPLETE, "complete": True, "reason": reason}
    return {"status": MISMATCH, "complete": False,
            "reason": "the server's total_count is %d but %d distinct entries were received:"
                      " the list changed during the export or the server miscounts; do not"
                      " treat this bundle as complete" % (total, received)}


def run_by():
    """``user@host`` of whoever runs the export, as well as the system can tell."""
    try:
        user = getpass.getuser()
    except Exception:  # getpass raises various errors when no user name is known
        user = "uid%d" % os.getuid() if hasattr(os, "getuid") else "unknown"
    return "%s@%s" % (user, socket.gethostname() or "unknown")


def manifest_bytes(manifest):
    """The manifest's file content: sorted keys, indented, one trailing newline."""
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def stable_view(manifest):
    """The part of a manifest that says what the bundle holds (everything but ``run``)."""
    if not isinstance(manifest, dict):
        return None
    return dict((k, v) for k, v in manifest.items() if k != "run")


def read_manifest(path):
    """The parsed manifest at ``path``, or None when it is missing or not a JSON object."""
    return chain.read_json(path)


def previous_link(path, window_since, unverified="fail", allow_gap=False):
    """The chain link to a previous bundle: its manifest's SHA-256, window and verification.

    ``path`` is the previous bundle's directory or its manifest.json. The previous bundle is
    verified first (``chain.check_bundle``): one that fails raises ValueError naming the
    bundle and the bad file, unless ``unverified`` is ``link``, and then the link records
    ``verified: false`` and the problems. Raises ValueError when there is no readable
    manifest there. ``contiguous`` says whether the previous window ends exactly where this
    one starts, so a chain of periods has no gap and no overlap. A window that does not
    continue the previous one raises ValueError (``continuation_problem``), but a gap with
    ``allow_gap``: then the link records it, ``gap: {since, until, accepted: true}``.
    """
    directory = os.path.dirname(path) if os.path.basename(path) == MANIFEST_NAME else path
    manifest_path = os.path.join(directory, MANIFEST_NAME)
    try:
        with open(manifest_path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as err:
        raise ValueError(
            "cannot read the previous manifest %s: %s. For the first period of a chain, omit"
            " previous; afterwards give the directory of the bundle exported for the period"
            " just before this one" % (manifest_path, err.strerror))
    try:
        manifest = json.loads(data.decode("utf-8"))
    except ValueError:
        manifest = None
    checked = chain.check_bundle(directory)
    if not checked["ok"] and unverified != "link":
        raise ValueError(
            "the previous bundle %s failed verification (%s); it is not linked. Find out what"
            " changed it and restore it, or set previous_unverified=link to link it anyway,"
            " recorded as unverified in this manifest"
            % (directory, "; ".join(checked["problems"])))
    if not isinstance(manifest, dict):
        raise ValueError("the previous manifest %s is not a JSON object" % manifest_path)
    window = chain.window_of(manifest)
    continuity = chain.continuity(window["until"], window_since)
    problem = continuation_problem(directory, window, window_since, continuity, allow_gap)
    if problem:
        raise ValueError(problem)
    link = {
        "manifest_sha256": hashlib.sha256(data).hexdigest(),
        "window": window,
        "verified": checked["ok"],
        "contiguous": continuity == "contiguous",
    }
    if continuity == "gap":
        # Only present when accepted (allow_gap): a contiguous link stays as it always was.
        link["gap"] = {"since": window["until"], "until": window_since, "accepted": True}
    if not checked["ok"]:
        link["problems"] = checked["problems"]
    return link


def continuation_problem(directory, window, window_since, continuity, allow_gap):
    """Why a window starting at ``window_since`` cannot be chained to the previous bundle
    in ``directory`` (its ``window``), or None: a gap (unless ``allow_gap``), an overlap, or
    an open bound. Found here, at export time, not months later by the verifier."""
    previous = "the previous bundle %s covers %s to %s" % (
        directory, window["since"] or "the beginning", window["until"] or "no end")
    if continuity == "gap":
        if allow_gap:
            return None
        return ("%s, so the entries from %s to %s would be in no bundle of the chain (a gap)."
                " Export that period first (and chain it), or start this window at %s; to"
                " accept the gap knowingly, set allow_gap=true, and it is recorded in the"
                " manifest and shown by the report" % (previous, window["until"],
                                                       window_since, window["until"]))
    if continuity == "overlap":
        return ("%s, and this window starts at %s, before it ends: the entries in between"
                " would be in two bundles (an overlap). Start this window at %s"
                % (previous, window_since, window["until"]))
    if continuity == "unknown":
        return ("%s and this window starts at %s: a chain needs both bounds to tell that no"
                " period is missing. Give the previous period an until and this one a since"
                % (previous, window_since or "the beginning"))
    return None


def build_manifest(query, window, base_url, version, files, counts, completeness_,
                   finality_, previous, run, export_options):
    """The manifest as a dict; every argument is already plain data."""
    return {
        "format_version": MANIFEST_FORMAT,
        "collection": {"name": COLLECTION_NAME, "version": version},
        "api": {"base_url": base_url},
        "query": query,
        "export": export_options,
        "window": {
            "since": window.get("since"),
            "until": window.get("until"),
            "since_inclusive": True,
            "until_exclusive": True,
        },
        "counts": counts,
        "completeness": completeness_,
        "finality": finality_,
        "files": files,
        "previous": previous,
        "run": run,
    }
