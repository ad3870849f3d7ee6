# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""9. What signing and timestamping add to an export (issue 21).

run_export (JSONL) of 100,000 entries (10,000 in a quick run) from an in-process fake client,
unsigned, signed (ssh-keygen -Y sign, an ed25519 key file) and signed and timestamped (a local
RFC 3161 authority: openssl ts -reply behind a loopback HTTP server, the token verified against
its CA), the three interleaved, medians over the repetitions. The added time is the
difference of medians; it does not grow with the entries (the manifest is signed, not the data).
"""

import datetime
import os
import shutil
import tempfile
import time

from figures import median, rnd, rotated


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def _imports(ctx):
    # The fake client, the entries and the local authority are the unit tests' own.
    tests = os.path.join(ctx.collections_path, "ansible_collections", "nirvana_labs", "audit",
                         "tests")
    if not os.path.isdir(tests):
        shutil.copytree(os.path.join(ROOT, "tests", "unit"), os.path.join(tests, "unit"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
        ExportOptions, run_export)
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
    from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import FakeClient
    from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils import (
        signing_support)
    from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
        make_entries)
    return ExportOptions, run_export, Query, FakeClient, signing_support, make_entries


def _export(mods, entries, dest, **signing):
    export_options, run_export, query_class, fake_client, signing_support, dummy = mods
    query = query_class(since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z")
    options = export_options(dest=dest, format="jsonl", **signing)
    now = datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)
    start = time.perf_counter()
    run_export(fake_client(entries), query, options, now=lambda: now,
               runner=signing_support.tool_runner())
    return time.perf_counter() - start


def run(ctx):
    mods = _imports(ctx)
    support, make_entries = mods[4], mods[5]
    count = 10000 if ctx.quick else 100000
    reps = max(3, ctx.settings.get("reps", 3))
    work = tempfile.mkdtemp(prefix="bench-signing-", dir=ctx.workdir)
    os.makedirs(os.path.join(work, "tsa"))
    tsa = support.LocalTSA(os.path.join(work, "tsa"))
    try:
        key = support.make_key(work, "key")
        entries = make_entries(count)
        modes = {"unsigned": {}, "signed": {"signing_key": key},
                 "signed_timestamped": {"signing_key": key, "timestamp_url": tsa.url,
                                        "timestamp_ca_path": tsa.ca_path}}
        times = dict((mode, []) for mode in modes)
        for rep in range(reps):
            for mode in rotated(sorted(modes), rep):
                dest = os.path.join(work, "%s-%d" % (mode, rep))
                times[mode].append(_export(mods, entries, dest, **modes[mode]))
                shutil.rmtree(dest, ignore_errors=True)
    finally:
        tsa.stop()
        shutil.rmtree(work, ignore_errors=True)
    medians = dict((mode, median(values)) for mode, values in times.items())
    return {"entries": count, "reps": reps,
            "seconds": dict((mode, rnd(value, 3)) for mode, value in medians.items()),
            "added_by_signing_s": rnd(medians["signed"] - medians["unsigned"], 3),
            "added_by_signing_and_timestamp_s": rnd(
                medians["signed_timestamped"] - medians["unsigned"], 3)}
