# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""4. Peak memory of a scan and of an export (sequential, and in parallel slices that spill)
at a small and a large size, and
5. export throughput at the large size (entries per second to JSONL, no latency).

Every probe is a fresh process (probe.py) that reports its own peak RSS (VmHWM; see there why
not ru_maxrss). ``idle`` is the floor any run pays (interpreter, requests,
the collection, one page); ``session`` is a bare requests loop that keeps nothing, for
reference. Modes are interleaved within each repetition.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

from emulator import Emulator
from figures import median, ratio, rnd, rotated, summary

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("scan", "export", "export_parallel", "session")


def _every_entry(emu):
    """A bounded window that holds every entry of the emulator (they all lie before its now)."""
    now = datetime.datetime.strptime(emu.info["now"], "%Y-%m-%dT%H:%M:%SZ")
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return ((now - datetime.timedelta(days=800)).strftime(fmt),
            (now + datetime.timedelta(days=1)).strftime(fmt))


def probe(ctx, emu, mode):
    """(result dict, peak RSS in MiB) of one probe process."""
    dest = tempfile.mkdtemp(prefix="bench-export-", dir=ctx.workdir)
    since, until = _every_entry(emu)
    spec = {"mode": mode, "collections": ctx.collections_path, "bench": HERE,
            "url": emu.url, "api_key": emu.api_key, "dest": dest, "since": since,
            "until": until}
    try:
        out = subprocess.check_output([sys.executable, os.path.join(HERE, "probe.py"),
                                       json.dumps(spec)])
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    result = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    if result["entries"] != (100 if mode == "idle" else emu.entries):
        raise RuntimeError("memory probe %s read %d entries of %d"
                           % (mode, result["entries"], emu.entries))
    return result, result["peak_kib"] / 1024.0


def run(ctx):
    sizes = (ctx.memory_small, ctx.memory_large)
    rss = dict(((mode, size), []) for mode in MODES for size in sizes)
    seconds = dict(((mode, size), []) for mode in MODES for size in sizes)
    idle = []
    export_bytes = []
    for size in sizes:
        reps = ctx.reps if size == ctx.memory_small else ctx.large_reps
        with Emulator(size, ctx.workdir, as_is=ctx.emulator_as_is) as emu:
            for rep in range(reps):
                if size == ctx.memory_small:
                    idle.append(probe(ctx, emu, "idle")[1])
                for mode in rotated(MODES, rep):
                    ctx.log("memory: %s of %d entries, rep %d" % (mode, size, rep + 1))
                    result, peak = probe(ctx, emu, mode)
                    rss[(mode, size)].append(peak)
                    seconds[(mode, size)].append(result["seconds"])
                    if mode == "export" and size == ctx.memory_large:
                        export_bytes.append(result["bytes"])
    out = {"sizes": list(sizes), "unit": "MiB peak RSS (VmHWM of the probe process)",
           "idle": summary(idle, 1), "modes": {}}
    for mode in MODES:
        small = median(rss[(mode, sizes[0])])
        large = median(rss[(mode, sizes[1])])
        out["modes"][mode] = {
            "rss_small": summary(rss[(mode, sizes[0])], 1),
            "rss_large": summary(rss[(mode, sizes[1])], 1),
            "ratio_large_to_small": ratio(large, small),
            "growth_mib": rnd(large - small, 1),
            "seconds_large": summary(seconds[(mode, sizes[1])]),
            "entries_per_s_large": rnd(sizes[1] / median(seconds[(mode, sizes[1])]), 0),
        }
    export_s = median(seconds[("export", sizes[1])])
    out["export_throughput"] = {
        "entries": sizes[1],
        "format": "jsonl",
        "seconds": summary(seconds[("export", sizes[1])]),
        "entries_per_s": rnd(sizes[1] / export_s, 0),
        "mib_per_s": rnd(median(export_bytes) / export_s / 1048576.0, 1),
        "file_mib": rnd(median(export_bytes) / 1048576.0, 1),
        "vs_scan": ratio(export_s, median(seconds[("scan", sizes[1])])),
        "vs_session": ratio(export_s, median(seconds[("session", sizes[1])])),
    }
    return out
