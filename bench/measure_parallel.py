# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""8. Parallel time slices, the pipelined export, lean results and lookup reuse (issue 13).

On one 2026-08 emulator: a bounded window of every entry (100,000 in a full run) read at 25 ms
per request sequentially (the floor: pages x latency) and with parallelism 1, 2, 4, 8, 16;
every parallel result is compared with the sequential one, entry for entry. Then the export
(run_export, JSONL) against a plain read of the same entries, with and without latency and
with parallelism 1 and 8 (its writer in a forked child, the default), and beside it the same
export with the writer in the reading process (evidence/writer.py), each bundle's entries
compared with the sequential read's, in order; the
emulator's and the client's CPU per page; audit_log_info in a playbook returning whole entries
and three fields; and the API requests of one lookup query
referenced twice on eight hosts, with the cache and without.
"""

import datetime
import json
import os
import shutil
import tempfile
import time

import playbook
from emulator import Emulator, latency_rule
from figures import median, ratio, rnd, rotated, summary

LATENCY_MS = 25
PARALLELISMS = (1, 2, 4, 8, 16)


def _collection():
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
        ExportOptions, run_export)
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
    return AuditLogClient, Query, ExportOptions, run_export


def _cpu_seconds(pid):
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def _window(emu, days_back, minutes_before_now=10):
    now = datetime.datetime.strptime(emu.info["now"], "%Y-%m-%dT%H:%M:%SZ")
    until = now - datetime.timedelta(minutes=minutes_before_now)
    since = until - datetime.timedelta(days=days_back)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return since.strftime(fmt), until.strftime(fmt)


def _read(emu, window, parallelism):
    client_class, query_class, dummy, dummy = _collection()
    query = query_class(since=window[0], until=window[1])
    with client_class(emu.api_key, base_url=emu.url) as client:
        start, cpu = time.perf_counter(), time.process_time()
        entries, report = client.read(query, parallelism=parallelism)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "client_cpu": cpu, "ids": [e["id"] for e in entries],
            "pages": report["pages"], "parallel": report["parallel"]}


def _export(emu, window, parallelism, workdir, writer_process=True):
    """``writer_process``: the writer in its forked child (the default, evidence/writer.py),
    else in this process, for a side-by-side figure."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import export
    client_class, query_class, options_class, run_export = _collection()
    query = query_class(since=window[0], until=window[1])
    dest = tempfile.mkdtemp(prefix="bench-parallel-export-", dir=workdir)
    kept = export.WRITER_PROCESS
    export.WRITER_PROCESS = writer_process
    try:
        with client_class(emu.api_key, base_url=emu.url) as client:
            start = time.perf_counter()
            result = run_export(client, query, options_class(
                dest=os.path.join(dest, "bundle"), format="jsonl", settle="5m",
                read={"parallelism": parallelism}))
            seconds = time.perf_counter() - start
        # Outside the time: the ids the bundle holds, in its order, for the caller to compare.
        with open(os.path.join(dest, "bundle", "audit_log.jsonl"), "rb") as handle:
            ids = [json.loads(line)["id"] for line in handle]
    finally:
        export.WRITER_PROCESS = kept
        shutil.rmtree(dest, ignore_errors=True)
    return {"seconds": seconds, "written": result["written"], "ids": ids}


def _slices(ctx, emu, window, out):
    """Sequential floor vs parallelism, at 25 ms a request; results compared entry for entry."""
    reference = _read(emu, window, 1)  # warm-up and the reference, without latency
    entries = len(reference["ids"])
    pages = -(-entries // 100)
    floor = pages * LATENCY_MS / 1000.0
    emu.set_faults(latency_rule(LATENCY_MS))
    times = dict((p, []) for p in PARALLELISMS)
    details = {}
    for rep in range(ctx.parallel_reps):
        for parallelism in rotated(PARALLELISMS, rep):
            result = _read(emu, window, parallelism)
            if result["ids"] != reference["ids"]:
                raise RuntimeError("parallelism %d read other entries than the sequential read"
                                   % parallelism)
            times[parallelism].append(result["seconds"])
            details[parallelism] = {"pages": result["pages"], "parallel": result["parallel"]}
            ctx.log("parallel: rep %d, parallelism %d: %.2fs" % (rep + 1, parallelism,
                                                                 result["seconds"]))
    emu.set_faults([])
    out.update(entries=entries, pages=pages, latency_ms=LATENCY_MS, floor_s=floor,
               parallelism={})
    for parallelism in PARALLELISMS:
        med = median(times[parallelism])
        parallel = details[parallelism]["parallel"]
        out["parallelism"][str(parallelism)] = dict(
            summary(times[parallelism]), speedup_vs_floor=ratio(floor, med),
            pages=details[parallelism]["pages"], slices=parallel.get("slices"),
            probes=parallel.get("probes"), used=parallel["used"], exact=True)
    return reference


def _cpu(emu, window, reference, out):
    """The emulator's and the client's CPU per page on a read without latency."""
    before = _cpu_seconds(emu.pid)
    sequential = _read(emu, window, 1)
    emulator_seq = _cpu_seconds(emu.pid) - before
    before = _cpu_seconds(emu.pid)
    parallel = _read(emu, window, 8)
    emulator_par = _cpu_seconds(emu.pid) - before
    pages = -(-len(reference["ids"]) // 100)
    out["cpu_per_page_ms"] = {
        "emulator": rnd(emulator_seq * 1000.0 / pages, 2),
        "client": rnd(sequential["client_cpu"] * 1000.0 / pages, 2),
        "wall_sequential": rnd(sequential["seconds"] * 1000.0 / pages, 2),
        "wall_parallel_8": rnd(parallel["seconds"] * 1000.0 / pages, 2),
        "emulator_parallel_8": rnd(emulator_par * 1000.0 / pages, 2),
        "client_parallel_8": rnd(parallel["client_cpu"] * 1000.0 / pages, 2),
        "cores": os.cpu_count(),
    }


def _timed_export(emu, window, parallelism, ctx, reference, writer_process=True):
    """The seconds of one export, whose bundle must hold the sequential read's entries, in
    its order (a mismatch fails the run)."""
    result = _export(emu, window, parallelism, ctx.workdir, writer_process)
    if result["ids"] != reference["ids"]:
        raise RuntimeError("the export (parallelism %d, writer %s) holds other entries than the"
                           " sequential read" % (parallelism, "in a child" if writer_process
                                                 else "in the reading process"))
    return result["seconds"]


def _export_vs_read(ctx, emu, window, reference, out):
    rows = {}
    for latency in (0, LATENCY_MS):
        emu.set_faults(latency_rule(latency) if latency else [])
        for parallelism in (1, 8):
            reads, exports, local = [], [], []
            for rep in range(ctx.parallel_reps):
                for name in rotated(("read", "export", "writer_here"), rep):
                    if name == "read":
                        reads.append(_read(emu, window, parallelism)["seconds"])
                    elif name == "export":
                        exports.append(_timed_export(emu, window, parallelism, ctx, reference))
                    else:
                        local.append(_timed_export(emu, window, parallelism, ctx, reference,
                                                   writer_process=False))
            rows["latency_%d_parallelism_%d" % (latency, parallelism)] = {
                "read": summary(reads), "export": summary(exports),
                "export_writer_in_this_process": summary(local),
                "export_to_read": ratio(median(exports), median(reads)),
                "writer_here_to_read": ratio(median(local), median(reads))}
            ctx.log("parallel: export vs read, %d ms, parallelism %d: %.2fs (writer in the"
                    " reading process %.2fs) vs %.2fs"
                    % (latency, parallelism, median(exports), median(local), median(reads)))
    emu.set_faults([])
    out["export_vs_read"] = rows


def _module_fields(ctx, emu, out):
    window = _window(emu, 12)
    expected = len(_read(emu, window, 8)["ids"])
    whole, lean = [], []
    for rep in range(ctx.parallel_reps):
        records = playbook.run(ctx, "module_fields.yml", {
            "bench_base_url": emu.url, "bench_api_key": emu.api_key, "bench_since": window[0],
            "bench_until": window[1], "bench_expected": expected,
            "bench_order": rotated(["whole", "fields"], rep)}, "module-fields-%d" % rep)
        whole.extend(playbook.durations(records, "Module whole"))
        lean.extend(playbook.durations(records, "Module fields"))
    out["module_fields"] = {"entries": expected, "whole": summary(whole),
                            "fields_3": summary(lean),
                            "fields_to_whole": ratio(median(lean), median(whole))}


def _lookup_reuse(ctx, emu, out):
    window = _window(emu, 1)
    expected = len(_read(emu, window, 1)["ids"])
    inventory = os.path.join(ctx.workdir, "eight-hosts.ini")
    with open(inventory, "w") as handle:
        handle.write("\n".join("host%d ansible_connection=local" % n for n in range(1, 9)) + "\n")
    rows = {}
    for cache in (False, True):
        emu.reset()
        local_temp = tempfile.mkdtemp(prefix="bench-lookup-tmp-", dir=ctx.workdir)
        start = time.perf_counter()
        playbook.run(ctx, "lookup_reuse.yml", {
            "bench_base_url": emu.url, "bench_api_key": emu.api_key, "bench_since": window[0],
            "bench_until": window[1], "bench_expected": expected, "bench_cache": cache},
            "lookup-reuse-%s" % cache, inventory=inventory,
            environment={"ANSIBLE_LOCAL_TEMP": local_temp, "ANSIBLE_FORKS": "8"})
        rows["cache" if cache else "no_cache"] = {
            "requests": emu.stats()["requests"], "seconds": rnd(time.perf_counter() - start)}
    out["lookup_8_hosts_2_references"] = dict(rows, entries=expected,
                                              pages_per_scan=-(-expected // 100))


def run(ctx):
    out = {}
    with Emulator(ctx.parallel_entries, ctx.workdir) as emu:
        # Every entry of the data set: the emulator's data span well under 400 days.
        window = _window(emu, 400)
        reference = _slices(ctx, emu, window, out)
        _cpu(emu, window, reference, out)
        _export_vs_read(ctx, emu, window, reference, out)
        _module_fields(ctx, emu, out)
        _lookup_reuse(ctx, emu, out)
    return out
