# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify evidence bundles and chains of them, offline, as CloudTrail's ``validate-logs`` does.

The one implementation of bundle and chain verification. It imports nothing but the Python
standard library, on purpose: the ``audit_log_verify`` module, the export (which verifies the
previous bundle before linking it) and ``tools/verify_evidence_chain.py`` (which an auditor
without Ansible runs, and which loads this file by its path) all use this code.

A chain is judged newest to oldest. For each bundle: every file against ``SHA256SUMS`` (as
``sha256sum -c`` would, plus the manifest's own file list), then its link (the SHA-256 of the
next older bundle's ``manifest.json`` recorded in its ``previous``), then continuity (the
older window ends exactly where this one starts, else a gap or an overlap).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import json
import os
import re

MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
CHUNK = 1024 * 1024

OK = "ok"
FAILED = "failed"

_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def file_sha256(path):
    """SHA-256 of a file, read in chunks; None when it does not exist."""
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
    except (IOError, OSError) as err:
        if err.errno == errno.ENOENT:
            return None
        raise
    return sha.hexdigest()


def parse_sums(data):
    """``{name: sha256}`` from SHA256SUMS bytes; raises ValueError on a malformed line."""
    result = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if not match:
            raise ValueError("%s line %d is not '<sha256>  <file>'" % (SUMS_NAME, number))
        result[match.group(2)] = match.group(1).lower()
    return result


def _check_sums(directory, sums):
    """``(problems, bad_files)`` of the files SHA256SUMS lists."""
    problems, bad = [], []
    if MANIFEST_NAME not in sums:
        problems.append("%s does not cover %s" % (SUMS_NAME, MANIFEST_NAME))
        bad.append(SUMS_NAME)
    for name in sorted(sums):
        if os.path.basename(name) != name:
            problems.append("%s names a file outside the bundle: %s" % (SUMS_NAME, name))
            bad.append(SUMS_NAME)
            continue
        actual = file_sha256(os.path.join(directory, name))
        if actual is None:
            problems.append("%s is missing" % name)
            bad.append(name)
        elif actual != sums[name]:
            problems.append("%s does not match its SHA-256 in %s" % (name, SUMS_NAME))
            bad.append(name)
    return problems, bad


def check_bundle(directory):
    """Check a bundle; returns ``{ok, problems, bad_files, manifest}``.

    ``problems`` are sentences, ``bad_files`` the file names they are about (first one first),
    ``manifest`` the parsed manifest.json or None.
    """
    result = {"ok": False, "problems": [], "bad_files": [], "manifest": None}
    try:
        with open(os.path.join(directory, SUMS_NAME), "rb") as handle:
            sums = parse_sums(handle.read())
    except (IOError, OSError):
        result.update(problems=["%s is missing" % SUMS_NAME], bad_files=[SUMS_NAME])
        return result
    except (ValueError, UnicodeDecodeError) as err:
        result.update(problems=[str(err)], bad_files=[SUMS_NAME])
        return result
    problems, bad = _check_sums(directory, sums)
    manifest = read_json(os.path.join(directory, MANIFEST_NAME))
    if manifest is None:
        problems.append("%s is missing or not a JSON object" % MANIFEST_NAME)
        bad.append(MANIFEST_NAME)
    else:
        for name, info in sorted((manifest.get("files") or {}).items()):
            if sums.get(name) != (info or {}).get("sha256"):
                problems.append("%s and %s disagree about %s" % (MANIFEST_NAME, SUMS_NAME, name))
                bad.append(name)
    unique_bad = []
    for name in bad:
        if name not in unique_bad:
            unique_bad.append(name)
    result.update(ok=not problems, problems=problems, bad_files=unique_bad, manifest=manifest)
    return result


def verify_bundle(directory):
    """``(ok, problems, manifest)`` of the bundle in ``directory`` (see ``check_bundle``)."""
    result = check_bundle(directory)
    return result["ok"], result["problems"], result["manifest"]


def read_json(path):
    """The JSON object in ``path``, or None when it is missing, not JSON or not an object."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_instant(text):
    """An aware UTC datetime from an RFC 3339 instant, or None when it is not one."""
    match = _INSTANT.match(text) if isinstance(text, str) else None
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    micros = int((fraction or ".0")[1:7].ljust(6, "0"))
    stamp = datetime.datetime.strptime("%s %s" % (day, clock), "%Y-%m-%d %H:%M:%S")
    stamp = stamp.replace(microsecond=micros)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        stamp -= sign * datetime.timedelta(hours=hours, minutes=minutes)
    return stamp


def continuity(older_until, newer_since):
    """``contiguous``, ``gap``, ``overlap`` or ``unknown`` (an open or unreadable bound)."""
    end, start = parse_instant(older_until), parse_instant(newer_since)
    if end is None or start is None:
        return "unknown"
    if end == start:
        return "contiguous"
    return "gap" if end < start else "overlap"


def window_of(manifest):
    window = (manifest or {}).get("window")
    window = window if isinstance(window, dict) else {}
    return {"since": window.get("since"), "until": window.get("until")}


def find_bundles(paths):
    """Bundle directories from ``paths``: each a bundle, or a directory holding bundles.

    A directory with a SHA256SUMS or manifest.json is a bundle; otherwise its subdirectories
    that are bundles are taken. Raises ValueError for a path that is neither.
    """
    found = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isfile(path) and os.path.basename(path) == MANIFEST_NAME:
            path = os.path.dirname(path)
        if not os.path.isdir(path):
            raise ValueError("%s is not a directory" % path)
        if _is_bundle(path):
            found.append(path)
            continue
        inner = [os.path.join(path, name) for name in sorted(os.listdir(path))]
        inner = [p for p in inner if os.path.isdir(p) and _is_bundle(p)]
        if not inner:
            raise ValueError("%s holds no evidence bundle (no %s or %s in it or in its"
                             " subdirectories)" % (path, SUMS_NAME, MANIFEST_NAME))
        found.extend(inner)
    unique = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _is_bundle(path):
    return any(os.path.isfile(os.path.join(path, name)) for name in (SUMS_NAME, MANIFEST_NAME))


def _newest_first(bundles):
    """Bundles sorted by window start, newest first.

    When a window cannot be read (a manifest altered beyond JSON), all are sorted by path
    instead, newest (greatest) first: periods are usually named by date, and a damaged
    bundle then stays between its neighbours rather than breaking every link around it.
    """
    starts = [parse_instant(b["window"]["since"]) for b in bundles]
    if None in starts:
        return sorted(bundles, key=lambda b: b["path"], reverse=True)
    return [b for _start, b in sorted(zip(starts, bundles), key=lambda pair: (pair[0], pair[1]["path"]),
                                      reverse=True)]


def _link(bundle, older):
    """The judgement of ``bundle``'s link to ``older`` (the next older bundle, or None)."""
    previous = (bundle["manifest"] or {}).get("previous")
    if bundle["manifest"] is None:
        return {"status": "unknown", "problem": "its %s cannot be read" % MANIFEST_NAME}
    if not isinstance(previous, dict):
        if older is None:
            return {"status": "start", "problem": None}
        return {"status": "missing",
                "problem": "it records no previous bundle, but %s is older" % older["path"]}
    if older is None:
        return {"status": "outside", "problem": None}
    recorded = previous.get("manifest_sha256")
    if recorded != older["manifest_sha256"]:
        return {"status": "broken",
                "problem": "its previous manifest SHA-256 %s is not that of %s/%s (%s)"
                           % (recorded, older["path"], MANIFEST_NAME, older["manifest_sha256"])}
    if previous.get("verified") is False:
        return {"status": "unverified",
                "problem": None,
                "note": "it was linked to a previous bundle that failed verification"}
    return {"status": OK, "problem": None}


def _bundle(path):
    checked = check_bundle(path)
    return {
        "path": path,
        "manifest": checked["manifest"],
        "manifest_sha256": file_sha256(os.path.join(path, MANIFEST_NAME)),
        "window": window_of(checked["manifest"]),
        "files_ok": checked["ok"],
        "problems": list(checked["problems"]),
        "bad_files": checked["bad_files"],
    }


def verify_chain(paths):
    """Verify the bundles of ``paths`` (see ``find_bundles``) as one chain, newest first.

    Returns a plain dict: ``ok``, ``bundles`` (each with ``path``, ``window``,
    ``manifest_sha256``, ``verdict``, ``files_ok``, ``link``, ``continuity``, ``problems``),
    ``first_broken`` (the first problem met newest to oldest: bundle, file, problem),
    ``gaps`` and ``overlaps``, and ``summary``. Raises ValueError when ``paths`` names no
    bundle.
    """
    bundles = _newest_first([_bundle(path) for path in find_bundles(paths)])
    gaps, overlaps, first_broken = [], [], None
    for index, bundle in enumerate(bundles):
        older = bundles[index + 1] if index + 1 < len(bundles) else None
        link = _link(bundle, older)
        bundle["link"] = link["status"]
        if link.get("note"):
            bundle["notes"] = [link["note"]]
        if link["problem"]:
            bundle["problems"].append("link: %s" % link["problem"])
        bundle["continuity"] = None
        if older is not None:
            bundle["continuity"] = continuity(older["window"]["until"], bundle["window"]["since"])
            span = {"older": older["path"], "newer": bundle["path"],
                    "from": older["window"]["until"], "to": bundle["window"]["since"]}
            if bundle["continuity"] == "gap":
                gaps.append(span)
                bundle["problems"].append("gap: nothing covers %s to %s" % (span["from"], span["to"]))
            elif bundle["continuity"] == "overlap":
                overlaps.append(span)
                bundle["problems"].append("overlap: %s starts at %s, before %s ends at %s"
                                          % (bundle["path"], span["to"], older["path"], span["from"]))
        bundle["verdict"] = OK if not bundle["problems"] else FAILED
        if first_broken is None and bundle["problems"]:
            first_broken = {"bundle": bundle["path"],
                            "file": bundle["bad_files"][0] if bundle["bad_files"] else
                            (MANIFEST_NAME if link["problem"] else None),
                            "problem": bundle["problems"][0]}
    for bundle in bundles:
        bundle.pop("manifest", None)
    ok = first_broken is None
    return {"ok": ok, "bundles": bundles, "first_broken": first_broken, "gaps": gaps,
            "overlaps": overlaps, "summary": _summary(bundles, first_broken)}


def _summary(bundles, first_broken):
    if first_broken is None:
        oldest, newest = bundles[-1]["window"], bundles[0]["window"]
        return ("%d bundle(s) verified: every file matches its %s, every link matches, and the"
                " windows run without gap or overlap from %s to %s"
                % (len(bundles), SUMS_NAME, oldest["since"], newest["until"]))
    failed = sum(1 for b in bundles if b["verdict"] != OK)
    return ("%d of %d bundle(s) failed; first broken: %s: %s"
            % (failed, len(bundles), first_broken["bundle"], first_broken["problem"]))


def format_report(result):
    """The verification as lines of text, newest bundle first (what the script prints)."""
    lines = []
    for bundle in result["bundles"]:
        window = bundle["window"]
        lines.append("%s  %s  [%s .. %s)  link=%s%s" % (
            "OK    " if bundle["verdict"] == OK else "FAILED", bundle["path"], window["since"],
            window["until"], bundle["link"],
            "" if bundle["continuity"] in (None, "contiguous") else
            "  continuity=%s" % bundle["continuity"]))
        for problem in bundle["problems"]:
            lines.append("        %s" % problem)
        for note in bundle.get("notes", ()):
            lines.append("        note: %s" % note)
    broken = result["first_broken"]
    if broken:
        lines.append("first broken: bundle %s, file %s: %s"
                     % (broken["bundle"], broken["file"] or "-", broken["problem"]))
    lines.append(("CHAIN OK: " if result["ok"] else "CHAIN BROKEN: ") + result["summary"])
    return lines
