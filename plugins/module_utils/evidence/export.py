# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One export run: scan, stream to part files, decide what changed, put the bundle in place.

The module is a thin adapter over ``run_export``; keeping the run here, free of Ansible,
lets tests and the memory measurement drive exactly the code the module runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import read_arguments
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import manifest as mf
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    DATA_NAMES,
    MANIFEST_NAME,
    SUMS_NAME,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.lock import DirectoryLock
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import FILTER_NAMES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import WINDOW_SETTLE
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import (
    DIR_MODE,
    commit_files,
    file_sha256,
    remove_stale_parts,
    write_bytes_part,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import remove_quietly
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import sealing
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.sums import sums_text
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.timestamp import (
    DEFAULT_TIMESTAMP_TIMEOUT,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.writer import (
    RUN_SIZE,
    BundleWriter,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.results import scan_summary
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_duration,
    parse_rfc3339,
    utc_now,
)

# The writer runs in its own process where the system can fork (evidence/writer.py): the
# bundle's bytes are the same, the read keeps its interpreter lock. False keeps it here.
WRITER_PROCESS = True

# Connection options recorded in the manifest's ``run`` section (never the key).
RECORDED_CONNECTION = ("timeout", "validate_certs", "ca_path", "max_retries", "use_proxy")
# The scan report's keys the manifest records (with ``client_sorted``: the writer's own word).
MANIFEST_SCAN_KEYS = ("pushed_down", "stopped_early", "stop_reason", "order")


# The list options a manifest records: what selects the entries and the guards of the scan.
# Not ``parallelism``: it changes no entry, so a re-run with another value leaves the manifest
# as it was.
RECORDED_QUERY_OPTIONS = tuple(sorted(FILTER_NAMES + (
    "order", "page_size", "max_results", "max_pages", "scan_timeout")))


class ExportOptions(object):
    """What an export needs besides the client and the query, as plain typed values.

    ``read`` holds the keyword arguments of ``client.scan`` (``client.read_arguments``: only
    the read settings given, so an unset one keeps the client's default and ``0`` reaches the
    client's bounds check instead of passing for "not set"). ``query_options`` and
    ``connection`` are recorded in the manifest as given (the query options as the user typed
    them; connection settings without the key).
    """

    def __init__(self, dest, format="jsonl", settle=WINDOW_SETTLE, previous=None, read=None,
                 base_url=None, query_options=None, connection=None, previous_unverified="fail",
                 signing_key=None, signing_public_key=None, timestamp_url=None,
                 timestamp_ca_path=None, force=False, allow_gap=False):
        self.dest = dest
        # Replace a bundle of another window or query in dest (else refused).
        self.force = bool(force)
        # Chain to a previous bundle that ends before this window starts (else refused).
        self.allow_gap = bool(allow_gap)
        # Paths only: ssh-keygen reads the key, nothing here ever does.
        self.signing_key = signing_key
        self.signing_public_key = signing_public_key
        self.timestamp_url = timestamp_url or None
        self.timestamp_ca_path = timestamp_ca_path
        connection = dict(connection or {})
        self.timestamp_timeout = connection.get("timeout") or DEFAULT_TIMESTAMP_TIMEOUT
        self.validate_certs = connection.get("validate_certs") is not False
        self.previous_unverified = previous_unverified or "fail"
        self.format = format or "jsonl"
        self.settle = settle
        self.previous = previous
        # Scan guards among them (max_pages, deadline): a scan they stop is recorded as
        # incomplete.
        self.read = dict(read or {})
        self.base_url = base_url
        self.query_options = dict(query_options or {})
        self.connection = dict(connection or {})

    @classmethod
    def from_params(cls, params):
        """From a mapping holding the export module's option names (missing = default)."""
        return cls(
            dest=params["dest"], format=params.get("format"),
            settle=params.get("settle", WINDOW_SETTLE), previous=params.get("previous"),
            previous_unverified=params.get("previous_unverified"),
            force=params.get("force"), allow_gap=params.get("allow_gap"),
            read=read_arguments(params), base_url=params.get("base_url"),
            query_options=dict((name, params.get(name)) for name in RECORDED_QUERY_OPTIONS),
            connection=dict((name, params.get(name)) for name in RECORDED_CONNECTION),
            signing_key=params.get("signing_key"),
            signing_public_key=params.get("signing_public_key"),
            timestamp_url=params.get("timestamp_url"),
            timestamp_ca_path=params.get("timestamp_ca_path"))


def _counts(report, writer):
    return {
        "pages": report.get("pages"),
        "scanned": report.get("scanned"),
        "matched": report.get("matched"),
        "duplicates_sent": report.get("duplicates") or 0,
        "written": writer.written,
        # Beyond what the scan dropped: the same (created_at, id) met again in the stream.
        "duplicates_dropped": writer.duplicates,
        "conflicting_duplicates": writer.conflicts,
    }


def _file_info(dest, name, part):
    return {
        "path": os.path.join(dest, name),
        "sha256": part.sha256,
        "bytes": part.size,
        "lines": part.lines,
    }


def _plan(dest, parts, manifest):
    """What must change in ``dest`` to hold this bundle.

    Returns ``(data_changed, stale, manifest_changed)``: data files whose bytes differ, data
    files of a format no longer asked for, and whether the manifest's content (all but
    ``run``) differs.
    """
    data_changed = sorted(name for name, part in parts.items()
                          if file_sha256(os.path.join(dest, name)) != part.sha256)
    stale = sorted(name for name in DATA_NAMES
                   if name not in parts and os.path.exists(os.path.join(dest, name)))
    existing = mf.read_manifest(os.path.join(dest, MANIFEST_NAME))
    # Compare as JSON round-trips, the form in which the old manifest was read back.
    new_stable = json.loads(mf.manifest_bytes(mf.stable_view(manifest)).decode("utf-8"))
    return data_changed, stale, mf.stable_view(existing) != new_stable


def absolute_path(option, path):
    """``path`` made canonical, or InvalidOption when it is relative.

    A module does not run where ansible-playbook was started: on a local connection its
    working directory is the playbook's (for ``nirvana_labs.audit.evidence``, a folder of the
    installed collection), elsewhere the remote user's home. A relative path would put or
    look for evidence there, so it is refused with the ways to say what was meant.
    """
    if not os.path.isabs(path):
        raise InvalidOption(option, "%r is a relative path, which a module would resolve in"
                            " its own working directory (on a local connection the"
                            " playbook's directory, which for nirvana_labs.audit.evidence is"
                            " inside the installed collection), not where ansible-playbook"
                            " was started. Give an absolute path, for example"
                            " \"{{ playbook_dir }}/%s\" or"
                            " \"{{ lookup('env', 'PWD') }}/%s\"" % (path, path, path))
    return os.path.normpath(path)


def _checked(options, query):
    """``(dest, settle_seconds, previous link)``; InvalidOption for a bad value."""
    dest = absolute_path("dest", options.dest)
    try:
        settle_seconds = parse_duration(options.settle)
    except ValueError as err:
        raise InvalidOption("settle", str(err))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InvalidOption("dest", "%s exists and is not a directory" % dest)
    if not options.force:
        _refuse_other_bundle(dest, query, options.query_options)
    previous = None
    if options.previous:
        try:
            previous = mf.previous_link(absolute_path("previous", options.previous),
                                        query.window.get("since"), options.previous_unverified,
                                        allow_gap=options.allow_gap)
        except ValueError as err:
            raise InvalidOption("previous", str(err))
    return dest, settle_seconds, previous


def _refuse_other_bundle(dest, query, query_options):
    """InvalidOption when ``dest`` holds the bundle of another window or other filters.

    Re-exporting the same window with the same filters is the idempotent re-run (or the
    settled version of an unsettled window) and goes on; anything else would silently replace
    evidence, and break the chain that links to it, so it needs ``force``.
    """
    manifest_path = os.path.join(dest, MANIFEST_NAME)
    if not os.path.lexists(manifest_path):
        return
    existing = mf.read_manifest(manifest_path)
    if not isinstance(existing, dict):
        raise InvalidOption("dest", "%s holds a manifest.json that cannot be read as a bundle's"
                            " manifest, so what it holds cannot be told; it is not replaced."
                            " Choose another dest, or set force=true to replace it" % dest)
    old_window = existing.get("window") if isinstance(existing.get("window"), dict) else {}
    new_window = query.window
    differences = []
    if any(_instant(old_window.get(bound)) != _instant(new_window.get(bound))
           for bound in ("since", "until")):
        differences.append("the window %s to %s there, %s to %s here" % (
            old_window.get("since") or "(open)", old_window.get("until") or "(open)",
            new_window.get("since") or "(open)", new_window.get("until") or "(open)"))
    old_query = existing.get("query") if isinstance(existing.get("query"), dict) else {}
    for name in FILTER_NAMES:
        if name in ("since", "until"):
            continue  # compared as the resolved window
        there, here = old_query.get(name) or None, query_options.get(name) or None
        if there != here:
            differences.append("%s %s there, %s here" % (name, _shown(there), _shown(here)))
    if differences:
        raise InvalidOption(
            "dest", "%s already holds the bundle of another window or query (%s). Exporting"
                    " would replace that evidence and break any chain linking to it. Give each"
                    " period its own dest, or set force=true to replace it"
                    % (dest, "; ".join(differences)))


def _instant(text):
    return parse_rfc3339(text) if isinstance(text, str) else None


def _shown(value):
    return "not set" if value is None else json.dumps(value, sort_keys=True)


def _workdir(dest, check_mode):
    if check_mode:
        # Nothing may be written to dest: parts go to a private folder that is removed.
        return tempfile.mkdtemp(prefix="nirvana-export-check-")
    return dest


def _make_dest(dest, check_mode):
    """Create ``dest`` (owner and group only) and take its lock; the lock, or None in check
    mode, which writes nothing to dest."""
    if check_mode:
        return None
    if not os.path.isdir(dest):
        os.makedirs(dest, DIR_MODE)
    lock = DirectoryLock(dest).acquire()
    # Only after the lock: a concurrent writer's parts would otherwise be at stake.
    remove_stale_parts(dest)
    return lock


def _manifest(options, run, report, writer, parts, window):
    """The manifest of this run; ``run`` carries its times, paths and settle seconds."""
    files = dict((name, {"sha256": part.sha256, "bytes": part.size, "lines": part.lines})
                 for name, part in parts.items())
    manifest = mf.build_manifest(
        query=options.query_options,
        window=window,
        base_url=options.base_url,
        version=run["version"],
        files=files,
        counts=_counts(report, writer),
        completeness_=mf.completeness(report, writer.written),
        finality_=mf.finality(window.get("until"), run["started"], run["settle_seconds"]),
        previous=run["previous"],
        run={
            "started_at": format_utc(run["started"]),
            "finished_at": format_utc(run["finished"]),
            "by": mf.run_by(),
            "dest": run["dest"],
            "previous_path": options.previous,
            "connection": dict((k, options.connection.get(k)) for k in RECORDED_CONNECTION),
        },
        export_options={"format": options.format, "settle": options.settle,
                        "settle_seconds": run["settle_seconds"]},
    )
    # The writer re-ordered the entries itself (bounded external sort) when they did not
    # arrive in canonical order: its word, not the scan's, goes into the manifest.
    manifest["scan"] = scan_summary(report, keys=MANIFEST_SCAN_KEYS,
                                    client_sorted=writer.client_sorted)
    return manifest


def _stage(dest, workdir, parts, manifest, extra_parts):
    """Part files for what changed; returns ``(to_commit, stale, changed_files, sha)``.

    New manifest and SHA256SUMS parts are appended to ``extra_parts`` so the caller removes
    whatever was not committed.
    """
    data_changed, stale, manifest_changed = _plan(dest, parts, manifest)
    changed_files = list(data_changed) + list(stale)
    to_commit = dict((name, parts[name]) for name in data_changed)
    if data_changed or stale or manifest_changed:
        new_manifest = write_bytes_part(workdir, MANIFEST_NAME, mf.manifest_bytes(manifest))
        extra_parts.append(new_manifest)
        to_commit[MANIFEST_NAME] = new_manifest
        changed_files.append(MANIFEST_NAME)
        manifest_sha = new_manifest.sha256
    else:
        manifest_sha = file_sha256(os.path.join(dest, MANIFEST_NAME))
    hashes = dict((name, part.sha256) for name, part in parts.items())
    hashes[MANIFEST_NAME] = manifest_sha
    sums = sums_text(hashes)
    if to_commit or stale or _read(os.path.join(dest, SUMS_NAME)) != sums:
        sums_part = write_bytes_part(workdir, SUMS_NAME, sums)
        extra_parts.append(sums_part)
        to_commit[SUMS_NAME] = sums_part
        changed_files.append(SUMS_NAME)
    return to_commit, stale, changed_files, manifest_sha


def run_export(client, query, options, check_mode=False, now=utc_now, version="0.0.0",
               run_size=RUN_SIZE, runner=None):
    """Export the entries ``query`` selects into ``options.dest``; returns the result dict.

    ``options`` is an ``ExportOptions``; ``runner`` runs ssh-keygen and openssl when the bundle
    is signed or timestamped (see attestation.run_tool). Raises AuditLogError (InvalidOption for
    bad values); on any failure every part file is removed and ``dest`` is as it was.
    """
    dest, settle_seconds, previous = _checked(options, query)
    key = sealing.key_of(options)
    sealing.link_previous(previous, options.previous)
    run = {"started": now(), "dest": dest, "previous": previous, "version": version,
           "settle_seconds": settle_seconds}
    lock = _make_dest(dest, check_mode)
    workdir = _workdir(dest, check_mode)
    # Forked before the scan starts a thread; the read then feeds it batches, spilled blocks
    # undecoded.
    writer = BundleWriter(workdir, order=query.order, formats=options.format, run_size=run_size,
                          separate_process=WRITER_PROCESS)
    extra_parts = []
    try:
        scan = client.scan(query, prefetch=True, **options.read)
        for batch in scan.batches():
            writer.add_batch(batch)
        report = scan.report
        parts = writer.finish()
        run["finished"] = now()
        window = dict(report.get("window") or query.window)
        manifest = _manifest(options, run, report, writer, parts, window)
        sealing.declare(manifest, key, options)
        to_commit, stale, changed_files, manifest_sha = _stage(dest, workdir, parts, manifest,
                                                               extra_parts)
        # Signed and timestamped after the manifest is final, before anything is committed.
        sealed = sealing.seal(dest, workdir, {"to_commit": to_commit, "stale": stale,
                                              "changed_files": changed_files,
                                              "extra_parts": extra_parts},
                              key, options, check_mode, runner)
        if not check_mode:
            commit_files(dest, to_commit, remove=stale)
    finally:
        # Whatever was not renamed into place (unchanged data, or everything on failure or
        # in check mode) is removed.
        writer.abort()
        for part in extra_parts:
            remove_quietly(part.path)
        if check_mode:
            shutil.rmtree(workdir, ignore_errors=True)
        if lock is not None:
            lock.release()
    result = _result(dest, parts, manifest, manifest_sha, changed_files, window, writer)
    result.update(sealed)
    return result


def _result(dest, parts, manifest, manifest_sha, changed_files, window, writer):
    manifest_path = os.path.join(dest, MANIFEST_NAME)
    comp = manifest["completeness"]
    fin = manifest["finality"]
    return {
        "changed": bool(changed_files),
        "changed_files": sorted(changed_files),
        "dest": dest,
        "files": dict((name, _file_info(dest, name, part)) for name, part in parts.items()),
        "manifest_path": manifest_path,
        "manifest_sha256": manifest_sha,
        "sums_path": os.path.join(dest, SUMS_NAME),
        "window": {"since": window.get("since"), "until": window.get("until")},
        "written": writer.written,
        "total_count": comp["total_count"],
        "complete": comp["complete"],
        "completeness": comp,
        "final": fin["final"],
        "finality": fin,
        "counts": manifest["counts"],
        "scan": manifest["scan"],
        "previous": manifest["previous"],
        "run": manifest["run"] if MANIFEST_NAME in changed_files else
        (mf.read_manifest(manifest_path) or {}).get("run"),
    }


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None
