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

from ansible_collections.nirvana_labs.audit.plugins.module_utils import _evidence_bundle as bundle
from ansible_collections.nirvana_labs.audit.plugins.module_utils import _evidence_manifest as mf
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import QUERY_OPTIONS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    utc_now,
)

# Connection options recorded in the manifest's ``run`` section (never the key).
RECORDED_CONNECTION = ("timeout", "validate_certs", "ca_path", "max_retries", "use_proxy")


def _scan_section(report, writer):
    order = dict(report.get("order") or {})
    return {
        "pushed_down": dict(report.get("pushed_down") or {}),
        "stopped_early": bool(report.get("stopped_early")),
        "stop_reason": report.get("stop_reason"),
        "order": order,
        # The writer re-ordered the entries itself (bounded external sort) because they did
        # not arrive in canonical order.
        "client_sorted": writer.client_sorted,
    }


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
                          if bundle.file_sha256(os.path.join(dest, name)) != part.sha256)
    stale = sorted(name for name in bundle.DATA_NAMES
                   if name not in parts and os.path.exists(os.path.join(dest, name)))
    existing = mf.read_manifest(os.path.join(dest, bundle.MANIFEST_NAME))
    # Compare as JSON round-trips, the form in which the old manifest was read back.
    new_stable = json.loads(mf.manifest_bytes(mf.stable_view(manifest)).decode("utf-8"))
    return data_changed, stale, mf.stable_view(existing) != new_stable


def run_export(client, query, options, check_mode=False, now=utc_now, version="0.0.0",
               run_size=bundle.RUN_SIZE):
    """Export the entries ``query`` selects into ``options['dest']``; returns the result dict.

    ``options`` holds the module's parameters (query options as typed, ``dest``, ``format``,
    ``settle``, ``previous``, connection options). Raises AuditLogError (InvalidOption for bad
    values); on any failure every part file is removed and ``dest`` is as it was.
    """
    dest = os.path.abspath(options["dest"])
    fmt = options.get("format") or "jsonl"
    try:
        settle_seconds = mf.parse_duration(options.get("settle", "5m"))
    except ValueError as err:
        raise InvalidOption("settle", str(err))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InvalidOption("dest", "%s exists and is not a directory" % dest)

    started = now()
    previous = None
    if options.get("previous"):
        try:
            previous = mf.previous_link(options["previous"], query.window.get("since"))
        except ValueError as err:
            raise InvalidOption("previous", str(err))

    if check_mode:
        # Nothing may be written to dest: parts go to a private folder that is removed.
        workdir = tempfile.mkdtemp(prefix="nirvana-export-check-")
    else:
        if not os.path.isdir(dest):
            os.makedirs(dest)
        bundle.remove_stale_parts(dest)
        workdir = dest

    writer = bundle.BundleWriter(workdir, order=query.order, formats=fmt, run_size=run_size)
    extra_parts = []
    try:
        scan = client.scan(query, page_size=options.get("page_size") or 100,
                           max_results=options.get("max_results"))
        for entry in scan:
            writer.add(entry)
        report = scan.report
        parts = writer.finish()
        finished = now()

        window = dict(report.get("window") or query.window)
        files = dict((name, {"sha256": part.sha256, "bytes": part.size, "lines": part.lines})
                     for name, part in parts.items())
        query_recorded = dict((name, options.get(name)) for name in sorted(QUERY_OPTIONS))
        manifest = mf.build_manifest(
            query=query_recorded,
            window=window,
            base_url=options.get("base_url"),
            version=version,
            files=files,
            counts=_counts(report, writer),
            completeness_=mf.completeness(report, writer.written),
            finality_=mf.finality(window.get("until"), started, settle_seconds),
            previous=previous,
            run={
                "started_at": format_utc(started),
                "finished_at": format_utc(finished),
                "by": mf.run_by(),
                "dest": dest,
                "previous_path": options.get("previous"),
                "connection": dict((k, options.get(k)) for k in RECORDED_CONNECTION),
            },
            export_options={"format": fmt, "settle": options.get("settle", "5m"),
                            "settle_seconds": settle_seconds},
        )
        manifest["scan"] = _scan_section(report, writer)

        data_changed, stale, manifest_changed = _plan(dest, parts, manifest)
        manifest_path = os.path.join(dest, bundle.MANIFEST_NAME)
        changed_files = list(data_changed) + list(stale)
        to_commit = dict((name, parts[name]) for name in data_changed)
        if data_changed or stale or manifest_changed:
            new_manifest = bundle.write_bytes_part(workdir, bundle.MANIFEST_NAME,
                                                   mf.manifest_bytes(manifest))
            extra_parts.append(new_manifest)
            to_commit[bundle.MANIFEST_NAME] = new_manifest
            changed_files.append(bundle.MANIFEST_NAME)
            manifest_sha = new_manifest.sha256
        else:
            manifest_sha = bundle.file_sha256(manifest_path)
        hashes = dict((name, part.sha256) for name, part in parts.items())
        hashes[bundle.MANIFEST_NAME] = manifest_sha
        sums = bundle.sums_text(hashes)
        sums_path = os.path.join(dest, bundle.SUMS_NAME)
        if to_commit or stale or _read(sums_path) != sums:
            sums_part = bundle.write_bytes_part(workdir, bundle.SUMS_NAME, sums)
            extra_parts.append(sums_part)
            to_commit[bundle.SUMS_NAME] = sums_part
            changed_files.append(bundle.SUMS_NAME)

        if not check_mode:
            bundle.commit_files(dest, to_commit, remove=stale)
    finally:
        # Whatever was not renamed into place (unchanged data, or everything on failure or
        # in check mode) is removed.
        writer.abort()
        for part in extra_parts:
            bundle.remove_quietly(part.path)
        if check_mode:
            shutil.rmtree(workdir, ignore_errors=True)

    result_files = dict((name, _file_info(dest, name, part)) for name, part in parts.items())
    comp = manifest["completeness"]
    fin = manifest["finality"]
    return {
        "changed": bool(changed_files),
        "changed_files": sorted(changed_files),
        "dest": dest,
        "files": result_files,
        "manifest_path": manifest_path,
        "manifest_sha256": manifest_sha,
        "sums_path": sums_path,
        "window": {"since": window.get("since"), "until": window.get("until")},
        "written": writer.written,
        "total_count": comp["total_count"],
        "complete": comp["complete"],
        "completeness": comp,
        "final": fin["final"],
        "finality": fin,
        "counts": manifest["counts"],
        "scan": manifest["scan"],
        "previous": previous,
        "run": manifest["run"] if bundle.MANIFEST_NAME in changed_files else
        (mf.read_manifest(manifest_path) or {}).get("run"),
    }


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None
