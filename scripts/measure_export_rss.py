# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Peak memory of the audit_log_export and audit_log_report module processes.

For each size it starts the emulator with that many entries, runs the real module file as
Ansible runs it (``python plugins/modules/audit_log_export.py args.json``) in a child process,
and reads the child's peak resident set size from ``wait4``. Then the same for
audit_log_report over the bundle just written. No timing is asserted; figures are printed
(and written as JSON with --json).

    python scripts/measure_export_rss.py                   # 10,000 and 1,000,000 entries
    python scripts/measure_export_rss.py --entries 10000   # one size

Needs ansible-core, requests and the emulator's requirements (numpy) in the running Python.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
NOW = "2026-11-28T12:00:00Z"


def start_emulator(entries, seed):
    args = [sys.executable, os.path.join(ROOT, "tests", "emulator", "serve.py"), "--port", "0",
            "--entries", str(entries), "--seed", str(seed), "--now", NOW]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, universal_newlines=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, json.loads(line)


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def collection_path(workdir):
    """A folder that holds ansible_collections/nirvana_labs/audit (a symlink is enough for
    Python imports)."""
    base = os.path.join(workdir, "collections")
    parent = os.path.join(base, "ansible_collections", "nirvana_labs")
    os.makedirs(parent)
    os.symlink(ROOT, os.path.join(parent, "audit"))
    return base


def run_module(name, args, pythonpath, workdir):
    """Run one module file with ``args``; returns (result, peak RSS in KiB, seconds)."""
    args_path = os.path.join(workdir, "%s-args.json" % name)
    with open(args_path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=pythonpath)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    out_path = os.path.join(workdir, "%s-out.json" % name)
    started = time.monotonic()
    with open(out_path, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "plugins", "modules", name + ".py"), args_path],
            stdout=out, env=env, cwd=workdir)
        _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    with open(out_path) as handle:
        result = json.loads(handle.read())
    if status != 0 or result.get("failed"):
        raise SystemExit("%s failed: %s" % (name, result.get("msg")))
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = usage.ru_maxrss // 1024 if platform.system() == "Darwin" else usage.ru_maxrss
    return result, peak, elapsed


def measure(entries, seed, fmt, workdir):
    process, info = start_emulator(entries, seed)
    try:
        pythonpath = collection_path(os.path.join(workdir, str(entries)))
        dest = os.path.join(workdir, str(entries), "bundle")
        export, export_rss, export_s = run_module("audit_log_export", {
            "api_key": info["api_key"], "base_url": info["url"], "dest": dest, "format": fmt,
        }, pythonpath, os.path.join(workdir, str(entries)))
    finally:
        stop(process)
    report, report_rss, report_s = run_module("audit_log_report", {"src": dest}, pythonpath,
                                              os.path.join(workdir, str(entries)))
    return {
        "entries": entries,
        "written": export["written"],
        "completeness": export["completeness"]["status"],
        "pages": export["counts"]["pages"],
        "jsonl_bytes": export["files"].get("audit_log.jsonl", {}).get("bytes"),
        "export_peak_rss_mib": round(export_rss / 1024.0, 1),
        "export_seconds": round(export_s, 1),
        "export_entries_per_second": int(export["written"] / export_s) if export_s else None,
        "report_peak_rss_mib": round(report_rss / 1024.0, 1),
        "report_seconds": round(report_s, 1),
        "report_changed": report["changed"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[10000, 1000000])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "csv", "both"])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the bundles (printed)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="nirvana-export-rss-")
    rows = []
    try:
        for entries in args.entries:
            os.makedirs(os.path.join(workdir, str(entries)))
            rows.append(measure(entries, args.seed, args.format, workdir))
            row = rows[-1]
            print("%9d entries: export peak RSS %6.1f MiB in %6.1f s (%d entries/s, %s);"
                  " report peak RSS %6.1f MiB in %5.1f s"
                  % (row["entries"], row["export_peak_rss_mib"], row["export_seconds"],
                     row["export_entries_per_second"], row["completeness"],
                     row["report_peak_rss_mib"], row["report_seconds"]))
            sys.stdout.flush()
    finally:
        if args.keep:
            print("bundles kept under %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(rows) > 1:
        print("export RSS ratio %d -> %d entries: %.2f" % (
            rows[0]["entries"], rows[-1]["entries"],
            rows[-1]["export_peak_rss_mib"] / rows[0]["export_peak_rss_mib"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"python": platform.python_version(), "cpus": os.cpu_count(),
                       "format": args.format, "rows": rows}, handle, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
