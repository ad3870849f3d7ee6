# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify evidence bundles and chains of them, offline, as CloudTrail's ``validate-logs`` does.

The one implementation of bundle and chain verification. It imports nothing but the Python
standard library and its sibling ``bundle_inputs.py`` (itself standard library only), on
purpose: the ``audit_log_verify`` module, the export (which verifies the previous bundle before
linking it) and ``tools/verify_evidence_chain.py`` (which an auditor without Ansible runs: a
single file into which scripts/render_verifier.py inlines this module and its siblings) all use
this code. Loaded by its path alone, it loads its siblings by their paths.

A chain is judged newest to oldest. For each bundle: ``SHA256SUMS`` lists exactly the
manifest's files and the manifest, each once, and every one of them matches (as
``sha256sum -c`` would); nothing else lies in the bundle directory; then its link (the SHA-256
of the next older bundle's ``manifest.json`` recorded in its ``previous``), then continuity
(the older window ends exactly where this one starts, else a gap or an overlap). An anchor
(the newest manifest's SHA-256 kept elsewhere) pins the newest bundle, and a requested period
(``since``/``until``) must be covered, else a missing head or tail is reported.

Every input gets a verdict, never an exception (see ``bundle_inputs.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

try:
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import (
        attestation,
        bundle_inputs,
    )
except ImportError:  # loaded by its path, without the collection: the siblings by their paths
    import importlib.util as _util
    import sys as _sys

    def _sibling(name):
        key = "nirvana_audit_evidence_" + name
        if key not in _sys.modules:  # attestation.py loads bundle_inputs.py under this key too
            spec = _util.spec_from_file_location(
                key, os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py"))
            module = _util.module_from_spec(spec)
            _sys.modules[key] = module
            spec.loader.exec_module(module)
        return _sys.modules[key]

    bundle_inputs = _sibling("bundle_inputs")
    attestation = _sibling("attestation")

# Re-exported: the names and helpers the rest of the collection imports from here.
MANIFEST_NAME = bundle_inputs.MANIFEST_NAME
SUMS_NAME = bundle_inputs.SUMS_NAME
MAX_SUMS_BYTES = bundle_inputs.MAX_SUMS_BYTES
MAX_MANIFEST_BYTES = bundle_inputs.MAX_MANIFEST_BYTES
SHA256_RE = bundle_inputs.SHA256_RE
BundleFileError = bundle_inputs.BundleFileError
file_sha256 = bundle_inputs.file_sha256
json_object = bundle_inputs.json_object
manifest_facts = bundle_inputs.manifest_facts
parse_instant = bundle_inputs.parse_instant
parse_sums = bundle_inputs.parse_sums
plain_name = bundle_inputs.plain_name
read_regular = bundle_inputs.read_regular
sha256_regular = bundle_inputs.sha256_regular
find_bundles = bundle_inputs.find_bundles
NAMESPACE = attestation.NAMESPACE
SIGNATURE_NAME = attestation.SIGNATURE_NAME
TIMESTAMP_NAME = attestation.TIMESTAMP_NAME
ToolError = attestation.ToolError

# The export's lock file stays in the bundle directory; it is not evidence.
LOCK_NAME = ".audit_log.lock"
# audit_log_report writes its reports beside the evidence by default: they summarise it, are
# regenerated from it at will, and are not evidence.
REPORT_FILE_NAMES = ("report.md", "report.html")
# Beside the evidence: the signature and timestamp are declared by the manifest and checked
# by attestation.py, the lock and the reports are not evidence.
COMPANIONS = (SUMS_NAME, MANIFEST_NAME, LOCK_NAME, SIGNATURE_NAME, TIMESTAMP_NAME
              ) + REPORT_FILE_NAMES
OK = "ok"
FAILED = "failed"

# A hidden part file of an export or a report that runs, or was interrupted (see parts.py).
_PART = re.compile(r"^\.[A-Za-z0-9_.]+\.\d+\.[A-Za-z0-9_]+\.part$")


class _Findings(object):
    """Problems (sentences) and the files they are about, first one first, each file once."""

    def __init__(self):
        self.problems, self.bad_files, self.notes = [], [], []

    def add(self, problem, name):
        self.problems.append(problem)
        if name is not None and name not in self.bad_files:
            self.bad_files.append(name)


def _read_sums(directory, found):
    try:
        return parse_sums(read_regular(os.path.join(directory, SUMS_NAME), MAX_SUMS_BYTES))
    except BundleFileError as err:
        found.add(str(err), SUMS_NAME)
    except UnicodeDecodeError:
        found.add("%s is not UTF-8 text" % SUMS_NAME, SUMS_NAME)
    except ValueError as err:
        found.add(str(err), SUMS_NAME)
    return None


def _read_manifest(directory, found):
    """``(manifest dict or None, its SHA-256 or None, its bytes or None)``, from one read."""
    try:
        data = read_regular(os.path.join(directory, MANIFEST_NAME), MAX_MANIFEST_BYTES)
    except BundleFileError as err:
        found.add(str(err), MANIFEST_NAME)
        return None, None, None
    sha = hashlib.sha256(data).hexdigest()
    manifest = json_object(data)
    if manifest is None:
        found.add("%s is not a JSON object" % MANIFEST_NAME, MANIFEST_NAME)
    return manifest, sha, data


def _check_listed(directory, sums, facts, manifest_sha, found):
    """Every file SHA256SUMS lists: one the manifest lists too, and matching."""
    if MANIFEST_NAME not in sums:
        found.add("%s does not cover %s" % (SUMS_NAME, MANIFEST_NAME), SUMS_NAME)
    for name in sorted(sums):
        if not plain_name(name) or name == SUMS_NAME:
            found.add("%s names a file outside the bundle: %s" % (SUMS_NAME, name[:200])
                      if name != SUMS_NAME else "%s lists itself" % SUMS_NAME, SUMS_NAME)
            continue
        if facts is not None and name != MANIFEST_NAME and name not in facts["files"]:
            found.add("%s lists %s, which %s does not list: it is not part of the export"
                      % (SUMS_NAME, name, MANIFEST_NAME), name)
            continue
        try:
            actual = (manifest_sha if name == MANIFEST_NAME else
                      sha256_regular(os.path.join(directory, name)))
        except BundleFileError as err:
            found.add(str(err), name)
            continue
        if actual is None:
            continue  # the manifest could not be read: already reported
        if actual != sums[name]:
            found.add("%s does not match its SHA-256 in %s" % (name, SUMS_NAME), name)
    for name, sha in sorted((facts or {"files": {}})["files"].items()):
        if name not in sums:
            found.add("%s does not cover %s, which %s lists" % (SUMS_NAME, name, MANIFEST_NAME),
                      name)
        elif sums[name] != sha:
            found.add("%s and %s disagree about %s" % (MANIFEST_NAME, SUMS_NAME, name), name)


def _check_extra(directory, listed, found):
    """Anything in the bundle directory that is not evidence nor a known companion."""
    try:
        names = os.listdir(directory)
    except OSError as err:
        found.add("the bundle directory cannot be listed: %s" % err.strerror, None)
        return
    for name in sorted(names):
        if name in listed or name in COMPANIONS:
            continue
        if _PART.match(name):
            found.notes.append("%s is a temporary file of an export or report that runs or was"
                               " interrupted; it is not evidence" % name)
            continue
        found.add("%s is in the bundle directory but in neither %s nor %s: it is not evidence,"
                  " remove it or find out who put it there" % (name, SUMS_NAME, MANIFEST_NAME),
                  name)


def check_bundle(directory):
    """Check a bundle; returns ``{ok, problems, bad_files, notes, manifest, manifest_sha256,
    facts}``.

    ``problems`` are sentences, ``bad_files`` the file names they are about (first one first),
    ``manifest`` the parsed manifest.json or None, ``facts`` its checked fields (see
    ``manifest_facts``) or None. Never raises for what is in the directory.
    """
    found = _Findings()
    sums = _read_sums(directory, found)
    manifest, manifest_sha, data = _read_manifest(directory, found)
    facts = None
    if manifest is not None:
        facts, wrong = manifest_facts(manifest)
        for problem in wrong:
            found.add(problem, MANIFEST_NAME)
    if sums is not None:
        _check_listed(directory, sums, facts, manifest_sha, found)
    listed = set(sums or ()) | set((facts or {"files": {}})["files"])
    _check_extra(directory, listed, found)
    return {"ok": not found.problems, "problems": found.problems, "bad_files": found.bad_files,
            "notes": found.notes, "manifest": manifest, "manifest_sha256": manifest_sha,
            "facts": facts, "manifest_bytes": data}


def verify_bundle(directory):
    """``(ok, problems, manifest)`` of the bundle in ``directory`` (see ``check_bundle``)."""
    result = check_bundle(directory)
    return result["ok"], result["problems"], result["manifest"]


def read_json(path):
    """The JSON object in the regular file ``path``, or None when it is missing, not a
    regular file, too large, not JSON or not an object."""
    try:
        return json_object(read_regular(path, MAX_MANIFEST_BYTES))
    except BundleFileError:
        return None


def continuity(older_until, newer_since):
    """``contiguous``, ``gap``, ``overlap`` or ``unknown`` (an open or unreadable bound)."""
    end, start = parse_instant(older_until), parse_instant(newer_since)
    if end is None or start is None:
        return "unknown"
    if end == start:
        return "contiguous"
    return "gap" if end < start else "overlap"


def window_of(manifest):
    """``{since, until}`` of a manifest, each an RFC 3339 string or None."""
    if not isinstance(manifest, dict):
        return {"since": None, "until": None}
    return manifest_facts(manifest)[0]["window"]


def _newest_first(bundles):
    """Bundles sorted by window start, newest first.

    When a window cannot be read (a manifest altered beyond JSON), all are sorted by path
    instead, newest (greatest) first: periods are usually named by date, and a damaged
    bundle then stays between its neighbours rather than breaking every link around it.
    """
    starts = [parse_instant(b["window"]["since"]) for b in bundles]
    if None in starts:
        return sorted(bundles, key=lambda b: b["path"], reverse=True)
    pairs = sorted(zip(starts, bundles), key=lambda pair: (pair[0], pair[1]["path"]),
                   reverse=True)
    return [bundle for _start, bundle in pairs]


def _link(bundle, older):
    """The judgement of ``bundle``'s link to ``older`` (the next older bundle, or None)."""
    facts = bundle["facts"]
    if facts is None or facts["previous_invalid"]:
        return {"status": "unknown", "problem": None if facts is None else
                "its %s records no readable previous bundle" % MANIFEST_NAME}
    previous = facts["previous"]
    if previous is None:
        if older is None:
            return {"status": "start", "problem": None}
        return {"status": "missing",
                "problem": "it records no previous bundle, but %s is older" % older["path"]}
    if older is None:
        return {"status": "outside", "problem": None}
    if previous["manifest_sha256"] != older["manifest_sha256"]:
        return {"status": "broken",
                "problem": "its previous manifest SHA-256 %s is not that of %s/%s (%s)"
                           % (previous["manifest_sha256"], older["path"], MANIFEST_NAME,
                              older["manifest_sha256"])}
    if previous["signature_sha256"] not in (None, older.get("signature_sha256")):
        return {"status": "broken",
                "problem": "its previous signature SHA-256 %s is not that of %s/%s (%s)"
                           % (previous["signature_sha256"], older["path"], SIGNATURE_NAME,
                              older.get("signature_sha256") or "absent")}
    if previous["verified"] is False:
        return {"status": "unverified",
                "problem": None,
                "note": "it was linked to a previous bundle that failed verification"}
    return {"status": OK, "problem": None}


def _bundle(path, settings):
    checked = check_bundle(path)
    facts = checked["facts"]
    bundle = {
        "path": path,
        "facts": facts,
        "manifest_sha256": checked["manifest_sha256"],
        "window": dict(facts["window"]) if facts else {"since": None, "until": None},
        "files_ok": checked["ok"],
        "problems": list(checked["problems"]),
        "bad_files": list(checked["bad_files"]),
        "notes": list(checked["notes"]),
        "signature": "unknown", "signer": None, "timestamp": None, "signature_sha256": None,
    }
    if facts is not None:
        sealed = attestation.attest(path, checked["manifest_bytes"], facts, settings)
        for problem, name in sealed.pop("problems"):
            bundle["problems"].append(problem)
            if name not in bundle["bad_files"]:
                bundle["bad_files"].append(name)
        bundle["notes"].extend(sealed.pop("notes"))
        bundle.update(sealed)
    return bundle


def check_arguments(anchor=None, since=None, until=None):
    """``(anchor, since, until)`` normalised; ValueError naming the bad argument."""
    if anchor is not None and not (isinstance(anchor, str) and SHA256_RE.match(anchor.strip())):
        raise ValueError("anchor: %r is not a SHA-256 (64 hexadecimal digits)" % (anchor,))
    for name, value in (("since", since), ("until", until)):
        if value is not None and parse_instant(value) is None:
            raise ValueError("%s: %r is not an RFC 3339 instant" % (name, value))
    if since is not None and until is not None and parse_instant(since) >= parse_instant(until):
        raise ValueError("until (%s) is not after since (%s)" % (until, since))
    return (anchor.strip().lower() if anchor is not None else None), since, until


def _check_anchor(bundles, anchor):
    """The anchor's verdict; a mismatch becomes a problem of the newest bundle."""
    newest = bundles[0]
    matched = [b["path"] for b in bundles if b["manifest_sha256"] == anchor]
    verdict = {"sha256": anchor, "bundle": matched[0] if matched else None,
               "ok": newest["manifest_sha256"] == anchor}
    if verdict["ok"]:
        return verdict
    if matched:
        newer = [b["path"] for b in bundles].index(matched[0])
        problem = ("anchor: it is the SHA-256 of %s/%s, not of the newest bundle's: the %d newer"
                   " bundle(s) are not pinned by it" % (matched[0], MANIFEST_NAME, newer))
    else:
        problem = ("anchor: its %s has SHA-256 %s, not the anchor %s: the newest bundle was"
                   " rewritten or replaced, or the anchored bundle is missing"
                   % (MANIFEST_NAME, newest["manifest_sha256"], anchor))
    newest["problems"].append(problem)
    if MANIFEST_NAME not in newest["bad_files"]:
        newest["bad_files"].append(MANIFEST_NAME)
    return verdict


def _ends(bundles, since, until):
    """``(missing_head, missing_tail)``: the parts of the requested period no bundle covers."""
    head = tail = None
    newest, oldest = bundles[0], bundles[-1]
    end = parse_instant(newest["window"]["until"])
    if until is not None and (end is None or end < parse_instant(until)):
        head = {"from": newest["window"]["until"], "to": until, "bundle": newest["path"]}
    start = oldest["window"]["since"]
    if since is not None and start is not None and parse_instant(start) > parse_instant(since):
        tail = {"from": since, "to": start, "bundle": oldest["path"]}
    elif since is not None and start is None and oldest["facts"] is None:
        tail = {"from": since, "to": None, "bundle": oldest["path"]}
    return head, tail


def head_problem(head):
    return ("missing head: no bundle covers %s to %s (the newest bundle ends at %s)"
            % (head["from"] or "its open end", head["to"], head["from"] or "no stated instant"))


def tail_problem(tail):
    return ("missing tail: no bundle covers %s to %s (the oldest bundle starts at %s)"
            % (tail["from"], tail["to"] or "an unreadable start", tail["to"] or "-"))


def _walk(bundles):
    """Links and continuity, newest to oldest; returns ``(gaps, overlaps)``."""
    gaps, overlaps = [], []
    for index, bundle in enumerate(bundles):
        older = bundles[index + 1] if index + 1 < len(bundles) else None
        link = _link(bundle, older)
        bundle["link"] = link["status"]
        if link.get("note"):
            bundle["notes"].append(link["note"])
        if link["problem"]:
            bundle["problems"].append("link: %s" % link["problem"])
            if MANIFEST_NAME not in bundle["bad_files"]:
                bundle["bad_files"].append(MANIFEST_NAME)
        bundle["continuity"] = None
        if older is None:
            continue
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
    return gaps, overlaps


def _first_broken(bundles, head, tail):
    if head is not None:
        return {"bundle": head["bundle"], "file": None, "problem": head_problem(head)}
    for bundle in bundles:
        if bundle["problems"]:
            problem = bundle["problems"][0]
            is_span = problem.startswith(("gap:", "overlap:"))
            return {"bundle": bundle["path"], "problem": problem,
                    "file": None if is_span or not bundle["bad_files"] else bundle["bad_files"][0]}
    if tail is not None:
        return {"bundle": tail["bundle"], "file": None, "problem": tail_problem(tail)}
    return None


def verify_chain(paths, anchor=None, since=None, until=None,  # long: one documented pass
                 allowed_signers=None, require_signature=False, timestamp_ca=None,
                 runner=None):
    """Verify the bundles of ``paths`` (see ``find_bundles``) as one chain, newest first.

    ``anchor`` is the newest manifest's SHA-256 kept elsewhere; ``since``/``until`` (RFC 3339)
    the period the chain must cover; ``allowed_signers`` (an OpenSSH allowed signers file),
    ``require_signature`` and ``timestamp_ca`` (the time-stamping authority's CA file) judge
    each bundle's signature and timestamp, with ssh-keygen and openssl run by ``runner`` (see
    attestation.run_tool). Returns a plain dict: ``ok``, ``bundles`` (each with
    ``path``, ``window``, ``manifest_sha256``, ``verdict``, ``files_ok``, ``bad_files``,
    ``link``, ``continuity``, ``signature``, ``signer``, ``timestamp``, ``problems``,
    ``notes``), ``first_broken`` (the first problem met newest to oldest: bundle, file,
    problem), ``gaps``, ``overlaps``, ``missing_head``,
    ``missing_tail``, ``anchor``, ``requested``, ``covering``, ``valid``, ``total`` and
    ``summary``. Raises ValueError for a bad argument or when ``paths`` names no bundle, and
    ToolError when ssh-keygen or openssl is needed and missing (or no runner was given).
    """
    anchor, since, until = check_arguments(anchor, since, until)
    settings = attestation.check_settings(allowed_signers, require_signature, timestamp_ca,
                                          runner)
    bundles = _newest_first([_bundle(path, settings) for path in find_bundles(paths)])
    anchor_verdict = _check_anchor(bundles, anchor) if anchor is not None else None
    gaps, overlaps = _walk(bundles)
    head, tail = _ends(bundles, since, until)
    for bundle in bundles:
        bundle["verdict"] = OK if not bundle["problems"] else FAILED
    first_broken = _first_broken(bundles, head, tail)
    for bundle in bundles:
        bundle.pop("facts", None)
        bundle.pop("signature_sha256", None)
    result = {"ok": first_broken is None, "bundles": bundles, "first_broken": first_broken,
              "gaps": gaps, "overlaps": overlaps, "missing_head": head, "missing_tail": tail,
              "anchor": anchor_verdict, "requested": {"since": since, "until": until},
              "covering": {"from": bundles[-1]["window"]["since"],
                           "to": bundles[0]["window"]["until"]},
              "valid": sum(1 for b in bundles if b["verdict"] == OK), "total": len(bundles)}
    result["summary"] = _summary(result)
    return result


def _summary(result):
    text = ("%d of %d bundles valid, covering %s to %s"
            % (result["valid"], result["total"], result["covering"]["from"],
               result["covering"]["to"]))
    broken = result["first_broken"]
    if broken is not None:
        return "%s; first broken: %s: %s" % (text, broken["bundle"], broken["problem"])
    text += ("; every file matches its %s and %s, every link matches, no gap or overlap"
             % (SUMS_NAME, MANIFEST_NAME))
    if result["anchor"]:
        text += "; the newest %s matches the anchor" % MANIFEST_NAME
    requested = result["requested"]
    if requested["since"] or requested["until"]:
        text += "; the requested period %s to %s is covered" % (
            requested["since"] or "-", requested["until"] or "-")
    return text
