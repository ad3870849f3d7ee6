# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the emulator: start-up time, memory and page latency at several sizes.

    python tests/emulator/bench.py [--sizes 10000 1000000] [--requests 200] [--json FILE]

For each size it starts ``serve.py`` as a subprocess (launcher.py), then times requests from one keep-alive
connection: latency as the client sees it (HTTP included; wall time, so a busy host shows), and
the server's CPU time for each request, from its stats log (what the emulator itself costs):

* ``walk``: consecutive pages of 100 following ``next_cursor`` (no filter);
* ``filtered``: first pages of distinct filtered queries (each one a cache miss, so the whole
  filtered list is counted for ``total_count``);
* ``filtered_sorted``: the same with ``sort=status_code:desc,created_at:asc``;
* ``filtered_walk``: consecutive pages of one filtered query.

RSS is read from /proc (Linux): ``VmHWM`` is the peak, ``VmRSS`` the size at the end.
"""

import argparse
import http.client
import json
import os
import sys
import time
from urllib.parse import urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from audit_emulator import Dataset  # noqa: E402 pylint: disable=wrong-import-position
from launcher import EmulatorProcess  # noqa: E402 pylint: disable=wrong-import-position

NOW = "2026-11-01T00:00:00Z"


def _proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Client(object):
    def __init__(self, url, key):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": "Bearer " + key}

    def get(self, path, params):
        target = path + ("?" + urlencode(params) if params else "")
        start = time.perf_counter()
        self.conn.request("GET", target, headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - start) * 1000.0
        if resp.status != 200:
            raise RuntimeError("%s -> %d %s" % (target, resp.status, body[:200]))
        return elapsed, json.loads(body)


def _admin(url, name):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", "/_emulator/" + name)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _filters(k, actors):
    """A distinct filter set for each k: every one is a new query for the server."""
    variants = [
        {"status_code_min": 400 + k % 100},
        {"actor_id": actors[k % len(actors)], "status_code_max": 200 + k},
        {"action": ("vm.created", "vm.deleted", "volume.attached", "api_key.updated")[k % 4],
         "created_at_min": "2026-%02d-%02dT00:00:00Z" % (8 + k % 3, 1 + k % 28)},
        {"path": ("vms", "FIREWALL", "/pools", "memberships")[k % 4], "status_code_min": k % 300},
        {"actor_type": ("user", "api_key")[k % 2], "method": ("GET", "POST", "PATCH", "DELETE")[k % 4],
         "created_at_max": "2026-10-%02dT12:00:00Z" % (1 + k % 28)},
    ]
    return variants[k % len(variants)]


def bench_size(size, requests):
    started = time.perf_counter()
    with EmulatorProcess(["--entries", size, "--now", NOW, "--api-key", "bench"]) as emu:
        info, pid = emu.info, emu.process.pid
        startup = time.perf_counter() - started
        rss_idle = _proc_kb(pid, "VmRSS")
        actors = [a["id"] for a in Dataset(entries=0, now=NOW).actors]
        client = Client(info["url"], info["api_key"])
        result = {"entries": size, "startup_s": round(startup, 2), "rss_after_start_mb": round(rss_idle / 1024.0, 1)}

        def walk(params):
            times, cursor = [], None
            for dummy in range(requests):
                p = dict(params, limit=100)
                if cursor:
                    p["cursor"] = cursor
                elapsed, body = client.get("/v1/audit_logs", p)
                times.append(elapsed)
                cursor = body["pagination"]["next_cursor"]
                if not cursor:
                    break
            return times

        def firsts(extra):
            times = []
            for k in range(requests):
                elapsed, dummy = client.get("/v1/audit_logs", dict(_filters(k, actors), limit=100, **extra))
                times.append(elapsed)
            return times

        client.get("/v1/audit_logs", {"limit": 10})  # warm the connection
        time.sleep(1.0 if size > 100000 else 0.1)   # let the sort helpers finish warming
        runs = {
            "walk": walk({}),
            "filtered": firsts({}),
            "filtered_sorted": firsts({"sort": "status_code:desc,created_at:asc"}),
            "filtered_walk": walk({"status_code_min": 400}),
        }
        # The server's own CPU time per request (from its stats log), in the same order.
        cpu = [e["cpu_ms"] for e in _admin(info["url"], "stats")["log"]][1:]
        for name, times in runs.items():
            mine, cpu = cpu[:len(times)], cpu[len(times):]
            result[name] = {"n": len(times), "p50_ms": round(_pct(times, 0.5), 2),
                            "p99_ms": round(_pct(times, 0.99), 2), "max_ms": round(max(times), 2),
                            "cpu_p50_ms": round(_pct(mine, 0.5), 2), "cpu_p99_ms": round(_pct(mine, 0.99), 2)}
        result["rss_peak_mb"] = round(_proc_kb(pid, "VmHWM") / 1024.0, 1)
        result["rss_end_mb"] = round(_proc_kb(pid, "VmRSS") / 1024.0, 1)
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 1000000])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = []
    for size in args.sizes:
        res = bench_size(size, args.requests)
        results.append(res)
        print("entries=%d  startup=%.2fs  rss: after start %.1f MB, peak %.1f MB, end %.1f MB"
              % (size, res["startup_s"], res["rss_after_start_mb"], res["rss_peak_mb"], res["rss_end_mb"]))
        for name in ("walk", "filtered", "filtered_sorted", "filtered_walk"):
            r = res[name]
            print("  %-16s n=%-4d client p50=%6.2f ms p99=%6.2f ms max=%6.2f ms | server CPU p50=%5.2f ms p99=%5.2f ms"
                  % (name, r["n"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["cpu_p50_ms"], r["cpu_p99_ms"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
