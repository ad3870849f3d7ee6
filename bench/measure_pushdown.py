# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""3. Pages fetched, with push-down and early stop against without.

On the filtering (2026-08) API: a filter matching about 0.1 % of the entries, one resource's
history (``target_id``), scanned with push-down and with it disabled. On the seed-generation
API (which ignores filters and sort): ``since: 1h`` with early stop and without. Pages come
from the scan report and requests from the emulator's counters; the expected figures from
the emulator's ground truth.
"""

import math

import clients
from emulator import Emulator
from figures import rotated, summary

TARGET_SHARE = 0.001


def pick_target(emu, entries):
    """The resource id whose history is closest to 0.1 % of the entries (ties: smallest id)."""
    # The resources on the newest page are enough candidates; each one's history is counted
    # exactly by the emulator's ground truth.
    ids = set((e.get("target") or {}).get("id") for e in clients.first_page(emu, {}))
    ids.discard(None)
    want = entries * TARGET_SHARE
    best = min(sorted(ids), key=lambda i: abs(emu.count({"target_id": i}) - want))
    return best, emu.count({"target_id": best})


def _measure(ctx, emu, variants, options, truth):
    """Each variant ``ctx.reps`` times, interleaved; ``truth(report)`` is the number of
    entries the scan must have matched, checked on every run."""
    figures = dict((name, {"pages": [], "requests": [], "matched": [], "seconds": []})
                   for name in variants)
    reports = {}
    for rep in range(ctx.reps):
        for name in rotated(sorted(variants), rep):
            emu.reset()
            result = clients.collection_scan(emu, options, **variants[name])
            stats = emu.stats()
            expected = truth(result["report"])
            if result["entries"] != expected:
                raise RuntimeError("%s matched %d, ground truth %d"
                                   % (name, result["entries"], expected))
            for key, value in (("pages", result["pages"]), ("requests", stats["requests"]),
                               ("matched", result["entries"]), ("seconds", result["seconds"])):
                figures[name][key].append(value)
            reports[name] = result["report"]
        ctx.log("push-down: rep %d: %s" % (rep + 1, ", ".join(
            "%s %d pages" % (k, v["pages"][-1]) for k, v in sorted(figures.items()))))
    out = {}
    for name, values in figures.items():
        out[name] = dict((key, summary(v, 3 if key == "seconds" else 0))
                         for key, v in values.items())
        report = reports[name]
        out[name]["pushed_down"] = report["pushed_down"]
        out[name]["sort_sent"] = report["order"]["sort_sent"]
        out[name]["order_observed"] = report["order"]["observed"]
        out[name]["stopped_early"] = report["stopped_early"]
        out[name]["scanned_last_run"] = report["scanned"]
    return out


def run(ctx):
    entries = ctx.pushdown_entries
    out = {"entries": entries}
    with Emulator(entries, ctx.workdir, as_is=ctx.emulator_as_is) as emu:
        target_id, matches = pick_target(emu, entries)
        filtered = _measure(ctx, emu, {
            "push_down": {"push_down": True},
            "no_push_down": {"push_down": False},
        }, {"target_id": [target_id]}, lambda report: matches)
        out["filtering_api"] = {
            "filter": {"target_id": target_id},
            "matches": matches,
            "share_pct": round(100.0 * matches / entries, 3),
            "expected_pages_push_down": max(1, int(math.ceil(matches / 100.0))),
            "pages_full_scan": int(math.ceil(entries / 100.0)),
            "variants": filtered,
        }

        emu.set_api("seed")
        try:
            # The window moves with the clock: each run is checked against its own.
            seed = _measure(ctx, emu, {
                "early_stop": {"early_stop": True},
                "no_early_stop": {"early_stop": False},
            }, {"since": "1h"}, lambda report: emu.count(
                {"created_at_min": report["window"]["since"]}))
        finally:
            emu.set_api("2026-08")
        matched = seed["early_stop"]["matched"]["median"]
        out["seed_api"] = {
            "filter": {"since": "1h"},
            "matches": matched,
            # Early stop must read the window and the first entry beyond it.
            "expected_pages_early_stop": int(math.ceil((matched + 1) / 100.0)),
            "pages_full_scan": int(math.ceil(entries / 100.0)),
            "variants": seed,
        }
    return out
