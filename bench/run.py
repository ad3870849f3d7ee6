# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark suite: every measurement of issue 7 in one run, a table on stdout and a JSON
file under bench/results/.

    python bench/run.py            # or: make bench (scripts/bench.sh sets up the venv)
    BENCH_QUICK=1 python bench/run.py   # smoke run, about two minutes, small sizes

Run it with a Python that has ansible-core, requests and the emulator's requirements (the
venv of scripts/venv.sh). Environment knobs: BENCH_QUICK, BENCH_REPS, BENCH_URI_REPS,
BENCH_LARGE_REPS, BENCH_CALL_REPS, BENCH_PARALLEL_REPS, BENCH_ONLY (comma list of scan,
connections, pushdown, memory, modules, overhead, parallel, economy, signing,
event_source, takeover, feedback), BENCH_KEEP (keep the work
directory), BENCH_EMULATOR_AS_IS (do not set TCP_NODELAY in the emulator; see serve_emulator.py).
"""

import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import environment  # noqa: E402  pylint: disable=wrong-import-position
import measure_connections  # noqa: E402  pylint: disable=wrong-import-position
import measure_event_source  # noqa: E402  pylint: disable=wrong-import-position
import measure_feedback  # noqa: E402  pylint: disable=wrong-import-position
import measure_memory  # noqa: E402  pylint: disable=wrong-import-position
import measure_modules  # noqa: E402  pylint: disable=wrong-import-position
import measure_parallel  # noqa: E402  pylint: disable=wrong-import-position
import measure_economy  # noqa: E402  pylint: disable=wrong-import-position
import measure_overhead  # noqa: E402  pylint: disable=wrong-import-position
import measure_pushdown  # noqa: E402  pylint: disable=wrong-import-position
import measure_scan  # noqa: E402  pylint: disable=wrong-import-position
import measure_signing  # noqa: E402  pylint: disable=wrong-import-position
import measure_takeover  # noqa: E402  pylint: disable=wrong-import-position
import report  # noqa: E402  pylint: disable=wrong-import-position

PHASES = (
    ("scan", measure_scan),
    ("connections", measure_connections),
    ("pushdown", measure_pushdown),
    ("memory", measure_memory),
    ("overhead", measure_overhead),
    ("modules", measure_modules),
    ("parallel", measure_parallel),
    ("economy", measure_economy),
    ("signing", measure_signing),
    ("event_source", measure_event_source),
    ("takeover", measure_takeover),
    ("feedback", measure_feedback),
)

# Repetitions and sizes. The full run fits in about 10-15 minutes on 2 cores; most of it is
# the uri pagination playbook (one repetition: it alone takes minutes) and the 1M-entry runs.
FULL = {"reps": 5, "uri_reps": 1, "large_reps": 2, "call_reps": 15, "scan_entries": 10000,
        "pushdown_entries": 100000, "memory_small": 10000, "memory_large": 1000000,
        "parallel_entries": 100000, "parallel_reps": 1}
QUICK = {"reps": 1, "uri_reps": 1, "large_reps": 1, "call_reps": 3, "scan_entries": 1000,
         "pushdown_entries": 20000, "memory_small": 1000, "memory_large": 20000,
         "parallel_entries": 10000, "parallel_reps": 1}


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class Context(object):
    """Settings and shared paths for the measurements."""

    def __init__(self):
        self.quick = _flag("BENCH_QUICK")
        settings = dict(QUICK if self.quick else FULL)
        for key in ("reps", "uri_reps", "large_reps", "call_reps", "parallel_reps"):
            value = os.environ.get("BENCH_" + key.upper())
            if value:
                # BENCH_URI_REPS=0 leaves the uri playbook out (it alone takes minutes).
                settings[key] = max(0 if key == "uri_reps" else 1, int(value))
        self.settings = settings
        for key, value in settings.items():
            setattr(self, key, value)
        self.emulator_as_is = _flag("BENCH_EMULATOR_AS_IS")
        only = os.environ.get("BENCH_ONLY", "").strip()
        self.only = set(p.strip() for p in only.split(",") if p.strip()) or None
        self.keep = _flag("BENCH_KEEP")
        self.workdir = tempfile.mkdtemp(prefix="nirvana-bench-")
        self.collections_path = os.path.join(self.workdir, "collections")
        self.ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        self.started = time.time()

    def log(self, message):
        sys.stderr.write("[bench %5.0fs] %s\n" % (time.time() - self.started, message))
        sys.stderr.flush()


def lay_out_collection(ctx):
    """A copy of the working tree's collection where Ansible and Python can import it:
    <workdir>/collections/ansible_collections/nirvana_labs/audit (a symlink is refused)."""
    dest = os.path.join(ctx.collections_path, "ansible_collections", "nirvana_labs", "audit")
    os.makedirs(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("galaxy.yml", "meta", "plugins"):
        source = os.path.join(ROOT, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(dest, name), ignore=ignore)
        else:
            shutil.copy2(source, os.path.join(dest, name))
    sys.path.insert(0, ctx.collections_path)


def main():
    ctx = Context()
    if not os.access(ctx.ansible_playbook, os.X_OK):
        sys.stderr.write("bench: %s not found; run with the venv's Python (make bench)\n"
                         % ctx.ansible_playbook)
        return 2
    ctx.log("work directory %s (%s run)" % (ctx.workdir, "quick" if ctx.quick else "full"))
    lay_out_collection(ctx)
    env = environment.describe(ROOT, ctx)
    results, failed = {}, []
    for name, phase in PHASES:
        if ctx.only and name not in ctx.only:
            continue
        ctx.log("%s ..." % name)
        started = time.time()
        try:
            results[name] = phase.run(ctx)
        except Exception as err:  # pylint: disable=broad-except
            # Record it and go on: one broken measurement must not hide the others.
            traceback.print_exc()
            results[name] = {"error": "%s: %s" % (type(err).__name__, err)}
            failed.append(name)
        results[name]["phase_seconds"] = round(time.time() - started, 1)
        ctx.log("%s done in %.0f s" % (name, time.time() - started))
    environment.finish(env, ctx)
    document = {
        "schema": 1,
        "environment": env,
        "settings": dict(ctx.settings, quick=ctx.quick),
        "results": results,
        "targets": report.targets(results),
    }
    path = write_results(document)
    # Clean up before printing: a reader that stops early (| head) must not leave it behind.
    if ctx.keep or failed:
        ctx.log("work directory kept: %s" % ctx.workdir)
    else:
        shutil.rmtree(ctx.workdir, ignore_errors=True)
    sys.stdout.write(report.table(document))
    sys.stdout.write("\nJSON: %s\n" % os.path.relpath(path, os.getcwd()))
    if failed:
        sys.stderr.write("bench: failed: %s\n" % ", ".join(failed))
        return 1
    return 0


def write_results(document):
    directory = os.path.join(HERE, "results")
    if not os.path.isdir(directory):
        os.makedirs(directory)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kind = "quick" if document["settings"]["quick"] else "full"
    path = os.path.join(directory, "bench-%s-%s.json" % (stamp, kind))
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    with open(path, "w") as handle:
        handle.write(text)
    with open(os.path.join(directory, "latest.json"), "w") as handle:
        handle.write(text)
    with open(os.path.join(directory, "latest.txt"), "w") as handle:
        handle.write(report.table(document))
    return path


if __name__ == "__main__":
    sys.exit(main())
