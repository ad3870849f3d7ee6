# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report run: verify a bundle, aggregate its JSONL, render, write what changed.

The module is a thin adapter over ``run_report``. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    InvalidOption,
    ReportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TOP,
    JSONL_NAME,
    MANIFEST_NAME,
    REPORT_FORMATS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import (
    DIR_MODE,
    commit_files,
    file_sha256,
    write_bytes_part,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import remove_quietly
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.aggregate import (
    DEFAULT_MAX_KEYS,
    Aggregator,
    aggregate,
    time_bounds,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.baseline import (
    baseline_ips,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.context import (
    Context,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.html import (
    render_html,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.markdown import (
    render_markdown,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.sums import (
    verify_bundle,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import instant_micros

# The last instant datetime can hold (9999-12-31T23:59:59.999999Z), in micros since the epoch.
_LAST_MICROS = instant_micros("9999-12-31T23:59:59.999999Z")

REPORT_NAMES = {"markdown": "report.md", "html": "report.html"}
RENDERERS = {"markdown": render_markdown, "html": render_html}


def _window_micros(manifest, jsonl_path):
    window = manifest.get("window") if isinstance(manifest.get("window"), dict) else {}
    start = instant_micros(window.get("since")) if window.get("since") else None
    end = instant_micros(window.get("until")) if window.get("until") else None
    if start is None or end is None:
        low, high = time_bounds(jsonl_path)
        if start is None:
            start = low
        if end is None:
            run = manifest.get("run") if isinstance(manifest.get("run"), dict) else {}
            end = instant_micros(run.get("started_at")) or (high + 1 if high is not None else None)
    if start is None:
        start = end if end is not None else 0
    if end is None or end <= start:
        end = start + 3600 * 1000000
    if end > _LAST_MICROS:
        # The charts would step into instants datetime cannot hold.
        raise InvalidOption("src", "the bundle's window ends past the year 9999; it cannot be"
                                   " reported on")
    return start, end


def _load_bundle(src, require_verified):
    """``(verified, problems, manifest, jsonl path)`` of the bundle in ``src``."""
    if not os.path.isdir(src):
        raise ReportError("src: %s is not a bundle directory" % src)
    verified, problems, manifest = verify_bundle(src)
    if not verified and require_verified:
        raise ReportError("the bundle in %s failed verification: %s"
                          % (src, "; ".join(problems)))
    manifest = manifest if isinstance(manifest, dict) else {}
    jsonl = os.path.join(src, JSONL_NAME)
    if not os.path.isfile(jsonl):
        raise ReportError("the bundle in %s has no %s; export it with format jsonl or both"
                          % (src, JSONL_NAME))
    return verified, problems, manifest, jsonl


def _write_changed(dest, outputs, check_mode):
    """Write the report files whose bytes differ; returns their names."""
    changed = []
    for name in sorted(outputs):
        path = os.path.join(dest, name)
        if file_sha256(path) == hashlib.sha256(outputs[name]).hexdigest():
            continue
        changed.append(name)
        if check_mode:
            continue
        if not os.path.isdir(dest):
            os.makedirs(dest, DIR_MODE)
        part = write_bytes_part(dest, name, outputs[name])
        try:
            commit_files(dest, {name: part})
        finally:
            remove_quietly(part.path)
    return changed


def run_report(src, dest=None, formats=REPORT_FORMATS, baseline=(), top=DEFAULT_TOP,
               list_limit=DEFAULT_LIST_LIMIT, title=None, require_verified=True, check_mode=False,
               max_keys=DEFAULT_MAX_KEYS):
    """Verify the bundle in ``src``, aggregate its JSONL and write the report files to ``dest``.

    Returns a result dict: paths, changed files, verification and the headline figures.
    Raises ReportError when the bundle cannot be reported on.
    """
    src = os.path.abspath(src)
    dest = os.path.abspath(dest or src)
    verified, problems, manifest, jsonl = _load_bundle(src, require_verified)
    known_ips, baseline_partial, baseline_names = baseline_ips(baseline)

    start, end = _window_micros(manifest, jsonl)
    aggregator = Aggregator(start, end, top=top, list_limit=list_limit, max_keys=max_keys,
                            baseline_ips=known_ips)
    try:
        aggregate(jsonl, aggregator)
    except ValueError as err:
        raise ReportError(str(err))
    figures = aggregator.figures()
    ctx = Context(manifest, file_sha256(os.path.join(src, MANIFEST_NAME)),
                  verified, problems, title=title, baseline=baseline_names,
                  baseline_partial=baseline_partial)
    outputs = dict((REPORT_NAMES[fmt], RENDERERS[fmt](figures, ctx).encode("utf-8"))
                   for fmt in REPORT_FORMATS if fmt in formats)
    changed = _write_changed(dest, outputs, check_mode)
    return {
        "changed": bool(changed),
        "changed_files": changed,
        "src": src,
        "dest": dest,
        "paths": dict((fmt, os.path.join(dest, REPORT_NAMES[fmt])) for fmt in formats),
        "verified": verified,
        "problems": problems,
        "manifest_sha256": ctx.manifest_sha256,
        "window": {"since": ctx.since, "until": ctx.until},
        "summary": _summary(figures, manifest),
    }


def _summary(figures, manifest):
    return {
        "entries": figures["entries"],
        "failed_calls": figures["failures"],
        "deletions": figures["deletions"],
        "failed_deletion_attempts": figures["failed_deletions"],
        "api_key_calls": figures["api_key_calls"],
        "actors": figures["actor_count"],
        "client_ips": figures["ip_count"],
        "new_client_ips": len(figures["new_ips"]) if figures["baseline"] else None,
        "completeness": (manifest.get("completeness") or {}).get("status"),
        "final": (manifest.get("finality") or {}).get("final"),
    }
