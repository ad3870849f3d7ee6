# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""9. What a parallel read costs the server (issue 23): connections, requests, rate limits.

On one 2026-08 emulator over TLS (100,000 entries; 10,000 in a quick run), a bounded window of
every entry and one of about 100 pages, each read sequentially and with parallelism 8:
- the TCP connections the emulator accepted and the requests it answered, without latency;
- the time at 25 ms a request, without and with a per-connection set-up cost of two round
  trips (50 ms, a TLS handshake on a real network), and the parallel speed-up over each;
- the whole window against a limit of 20 requests/s (token bucket, 429 with Retry-After) at
  25 ms: time against the floor (requests sent / 20 per s) and the count of 429s.
Every parallel result is compared with the sequential one, entry for entry (a mismatch fails
the run).
"""

import datetime
import time

from emulator import Emulator, latency_rule
from figures import ratio, rnd

LATENCY_MS = 25
SETUP_MS = 2 * LATENCY_MS  # a TLS handshake: two round trips
RATE_LIMIT = 20
PARALLELISM = 8
SMALL_PAGES = 100


def _collection():
    # pylint: disable=import-outside-toplevel
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
    return AuditLogClient, Query


def _window(emu, seconds):
    """The ``seconds`` before ``now`` minus ten minutes."""
    now = datetime.datetime.strptime(emu.info["now"], "%Y-%m-%dT%H:%M:%SZ")
    until = now - datetime.timedelta(minutes=10)
    since = until - datetime.timedelta(seconds=seconds)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return since.strftime(fmt), until.strftime(fmt)


def _small_window(emu, entries):
    """A window of about SMALL_PAGES pages: the data are spread over 90 days."""
    return _window(emu, int(90 * 86400 * SMALL_PAGES * 100.0 / entries))


def _read(emu, window, parallelism, latency_ms=0):
    """One read, after the emulator's counters (and its rate limiter's bucket) are reset."""
    client_class, query_class = _collection()
    emu.reset()  # also removes the fault rules: the latency is set again
    if latency_ms:
        emu.set_faults(latency_rule(latency_ms))
    with client_class(emu.api_key, base_url=emu.url, ca_path=emu.ca_path) as client:
        start = time.perf_counter()
        entries, report = client.read(query_class(since=window[0], until=window[1]),
                                      parallelism=parallelism)
        seconds = time.perf_counter() - start
    stats = emu.stats()
    return {"seconds": seconds, "ids": [e["id"] for e in entries],
            "connections": stats["connections"], "requests": stats["requests"],
            "rate_limited": stats["by_status"].get("429", 0), "parallel": report["parallel"]}


def _pair(ctx, emu, window, name, reference=None, latency_ms=0):
    """A sequential and a parallel read of ``window``; the parallel one must equal it."""
    sequential = _read(emu, window, 1, latency_ms)
    if reference is not None and sequential["ids"] != reference:
        raise RuntimeError("%s: the sequential read changed" % name)
    parallel = _read(emu, window, PARALLELISM, latency_ms)
    if parallel["ids"] != sequential["ids"]:
        raise RuntimeError("%s: parallelism %d read other entries than the sequential read"
                           % (name, PARALLELISM))
    ctx.log("economy: %s: sequential %.2fs %d conn %d req %d 429; parallel %.2fs %d conn"
            " %d req %d 429" % (name, sequential["seconds"], sequential["connections"],
                                sequential["requests"], sequential["rate_limited"],
                                parallel["seconds"], parallel["connections"],
                                parallel["requests"], parallel["rate_limited"]))
    return sequential, parallel


def _figures(result):
    return {"seconds": rnd(result["seconds"]), "connections": result["connections"],
            "requests": result["requests"], "rate_limited": result["rate_limited"],
            "slices": result["parallel"].get("slices"), "probes": result["parallel"].get("probes"),
            "parallel_used": result["parallel"]["used"]}


def _costs(ctx, emu, windows, out):
    """Connections and requests, no latency."""
    reference = {}
    for name, window in windows:
        sequential, parallel = _pair(ctx, emu, window, name)
        reference[name] = sequential["ids"]
        pages = -(-len(sequential["ids"]) // 100)
        out["costs"][name] = {
            "entries": len(sequential["ids"]), "pages": pages,
            "sequential": _figures(sequential), "parallel": _figures(parallel),
            "extra_requests": ratio(parallel["requests"] - sequential["requests"],
                                    sequential["requests"], 3)}
    return reference


def _speedups(ctx, emu, window, reference, out):
    """At 25 ms a request, without and with a per-connection set-up cost."""
    try:
        for setup_ms in (0, SETUP_MS):
            emu.set_config(connect_latency_ms=setup_ms)
            sequential, parallel = _pair(ctx, emu, window, "setup %d ms" % setup_ms, reference,
                                         LATENCY_MS)
            out["speedup"]["setup_%dms" % setup_ms] = {
                "sequential": _figures(sequential), "parallel": _figures(parallel),
                "speedup": ratio(sequential["seconds"], parallel["seconds"])}
    finally:
        emu.set_config(connect_latency_ms=0)


def _rate_limited(ctx, emu, window, reference, out):
    """The whole window against RATE_LIMIT requests/s at 25 ms a request."""
    results = {}
    try:
        for parallelism in (1, PARALLELISM):
            emu.set_config(rate_limit=RATE_LIMIT)
            result = _read(emu, window, parallelism, LATENCY_MS)  # a full bucket each time
            if result["ids"] != reference:
                raise RuntimeError("rate-limited read with parallelism %d read other entries"
                                   % parallelism)
            floor = -(-len(reference) // 100) / float(RATE_LIMIT)  # pages / limit
            results[parallelism] = dict(
                _figures(result), floor_s=rnd(floor), vs_floor=ratio(result["seconds"], floor),
                rate_limited_share=ratio(result["rate_limited"], result["requests"], 3))
            ctx.log("economy: rate limit %d/s, parallelism %d: %.2fs (floor %.1fs), %d requests,"
                    " %d 429" % (RATE_LIMIT, parallelism, result["seconds"], floor,
                                 result["requests"], result["rate_limited"]))
    finally:
        emu.set_config(rate_limit=None)
        emu.set_faults([])
    pages = -(-len(reference) // 100)
    out["rate_limit"] = {"limit_rps": RATE_LIMIT, "latency_ms": LATENCY_MS, "pages": pages,
                         "floor_s": rnd(pages / float(RATE_LIMIT)),
                         "sequential": results[1], "parallel": results[PARALLELISM]}


def run(ctx):
    entries = ctx.parallel_entries
    out = {"entries": entries, "latency_ms": LATENCY_MS, "setup_ms": SETUP_MS, "tls": True,
           "parallelism": PARALLELISM, "costs": {}, "speedup": {}}
    with Emulator(entries, ctx.workdir, tls=True, as_is=ctx.emulator_as_is) as emu:
        whole = _window(emu, 400 * 86400)  # every entry: the data span 90 days
        small = _small_window(emu, entries)
        reference = _costs(ctx, emu, [("whole", whole), ("small", small)], out)
        _speedups(ctx, emu, whole, reference["whole"], out)
        _rate_limited(ctx, emu, whole, reference["whole"], out)
    return out
