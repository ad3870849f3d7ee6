# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""7. Peak memory of the audit_log_export and audit_log_report module processes.

For each size: the real module file, run with an arguments file as Ansible runs it, exports
every entry of an emulator to JSONL; then audit_log_report reads the bundle just written. Each
run is a fresh probe process (probe.py, mode ``module``) that reports its own peak RSS. Where
phase 4 measures the library call (``run_export``), this is the whole module: argument
parsing, the bundle's files and the report.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from emulator import Emulator
from figures import median, ratio, rnd, summary

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = ("audit_log_export", "audit_log_report")


def run_module(ctx, name, args):
    """(module result, peak RSS in MiB, seconds, the writer child's peak RSS in MiB) of one
    module run in a probe process."""
    handle, args_file = tempfile.mkstemp(prefix="%s-args-" % name, suffix=".json", dir=ctx.workdir)
    with os.fdopen(handle, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    module = os.path.join(ctx.collections_path, "ansible_collections", "nirvana_labs", "audit",
                          "plugins", "modules", name + ".py")
    spec = {"mode": "module", "collections": ctx.collections_path, "module": module,
            "args_file": args_file}
    env = dict((k, v) for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy"))
    try:
        out = subprocess.check_output([sys.executable, os.path.join(HERE, "probe.py"),
                                       json.dumps(spec)], env=env, cwd=ctx.workdir)
    finally:
        os.remove(args_file)
    probe = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    result = probe["result"]
    if result.get("failed"):
        raise RuntimeError("%s failed: %s" % (name, result.get("msg")))
    return result, probe["peak_kib"] / 1024.0, probe["seconds"], \
        probe.get("child_peak_kib", 0) / 1024.0


def export_and_report(ctx, emu):
    """One export of every entry and one report of that bundle: {module: (MiB, s, the writer
    child's MiB)}."""
    dest = tempfile.mkdtemp(prefix="bench-module-export-", dir=ctx.workdir)
    try:
        export, export_mib, export_s, child_mib = run_module(ctx, "audit_log_export", {
            "api_key": emu.api_key, "base_url": emu.url, "dest": dest, "format": "jsonl"})
        if export["written"] != emu.entries or export["completeness"]["status"] != "complete":
            raise RuntimeError("the export module wrote %d of %d entries (%s)" % (
                export["written"], emu.entries, export["completeness"]["status"]))
        dummy, report_mib, report_s, dummy_child = run_module(ctx, "audit_log_report",
                                                              {"src": dest})
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    return {"audit_log_export": (export_mib, export_s, child_mib),
            "audit_log_report": (report_mib, report_s, 0.0)}


def run(ctx):
    sizes = (ctx.memory_small, ctx.memory_large)
    rss = dict(((name, size), []) for name in MODULES for size in sizes)
    seconds = dict(((name, size), []) for name in MODULES for size in sizes)
    child = dict(((name, size), []) for name in MODULES for size in sizes)
    for size in sizes:
        with Emulator(size, ctx.workdir, as_is=ctx.emulator_as_is) as emu:
            for rep in range(ctx.large_reps):
                ctx.log("modules: export and report of %d entries, rep %d" % (size, rep + 1))
                for name, (mib, secs, child_mib) in export_and_report(ctx, emu).items():
                    rss[(name, size)].append(mib)
                    seconds[(name, size)].append(secs)
                    child[(name, size)].append(child_mib)
    out = {"sizes": list(sizes), "unit": "MiB peak RSS (VmHWM of the module's process)",
           "modules": {}}
    for name in MODULES:
        small, large = (median(rss[(name, size)]) for size in sizes)
        out["modules"][name] = {
            "rss_small": summary(rss[(name, sizes[0])], 1),
            "rss_large": summary(rss[(name, sizes[1])], 1),
            # The export's writer process (its RSS counts pages shared with the module's).
            "child_rss_small": summary(child[(name, sizes[0])], 1),
            "child_rss_large": summary(child[(name, sizes[1])], 1),
            "ratio_large_to_small": ratio(large, small),
            "seconds_large": summary(seconds[(name, sizes[1])]),
            "entries_per_s_large": rnd(sizes[1] / median(seconds[(name, sizes[1])]), 0),
        }
    return out
