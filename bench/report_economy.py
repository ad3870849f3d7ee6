# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 9 (measure_economy.py, issue 23): its table lines and its design targets."""

# Issue 23: a parallel read uses at most parallelism + 1 connections, sends at most 10 % more
# requests than a sequential read on windows of 100 pages and more, and under a rate limit
# finishes within 1.1 x the floor (pages / limit) with 429s under 5 % of its requests.
EXTRA_REQUESTS_TARGET = 0.10
RATE_FLOOR_TARGET = 1.1
RATE_429_TARGET = 0.05


def targets(results, add):
    res = results.get("economy")
    if not isinstance(res, dict) or "costs" not in res:
        return
    allowed = res["parallelism"] + 1
    for name, row in sorted(res["costs"].items()):
        conns = row["parallel"]["connections"]
        add("parallel read, %s window: connections" % name, "<= %d" % allowed, conns,
            conns <= allowed)
        if row["pages"] >= 100:
            extra = row["extra_requests"]
            add("parallel read, %s window (%d pages): extra requests" % (name, row["pages"]),
                "<= %.0f %%" % (EXTRA_REQUESTS_TARGET * 100), extra,
                extra <= EXTRA_REQUESTS_TARGET)
    rate = res.get("rate_limit", {}).get("parallel")
    if rate:
        add("rate-limited parallel read vs floor", "<= %.1f x" % RATE_FLOOR_TARGET,
            rate["vs_floor"], rate["vs_floor"] <= RATE_FLOOR_TARGET)
        add("rate-limited parallel read: 429 share", "< %.0f %%" % (RATE_429_TARGET * 100),
            rate["rate_limited_share"], rate["rate_limited_share"] < RATE_429_TARGET)


def _line(label, row):
    return ("  %-34s %7.2f s %5d connections %6d requests %4d x 429%s" % (
        label, row["seconds"], row["connections"], row["requests"], row["rate_limited"],
        "" if row.get("slices") is None else ", %s slices, %s probes" % (
            row["slices"], row["probes"])))


def lines(res):
    out = ["9. What a parallel read costs the server: %d entries over TLS, parallelism %d;"
           " every result equal to the sequential one" % (res["entries"], res["parallelism"])]
    for name, row in sorted(res["costs"].items()):
        out.append(" %s window, %d entries (%d pages), no latency: extra requests %.1f %%" % (
            name, row["entries"], row["pages"], 100.0 * row["extra_requests"]))
        out.append(_line("sequential", row["sequential"]))
        out.append(_line("parallel", row["parallel"]))
    for key, row in sorted(res["speedup"].items()):
        out.append(" whole window at %d ms a request, %s per new connection: speed-up %.2f x" % (
            res["latency_ms"], key.split("_")[1], row["speedup"]))
        out.append(_line("sequential", row["sequential"]))
        out.append(_line("parallel", row["parallel"]))
    rate = res.get("rate_limit")
    if rate:
        out.append(" whole window (%d pages) at %d ms, limit %d requests/s: floor %.1f s" % (
            rate["pages"], rate["latency_ms"], rate["limit_rps"], rate["floor_s"]))
        for name in ("sequential", "parallel"):
            row = rate[name]
            out.append(_line(name, row) + "; %.2f x floor, 429s %.1f %%" % (
                row["vs_floor"], 100.0 * row["rate_limited_share"]))
    return out
