# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""6. Overhead per call: one audit_log_info by id, one lookup by id and one
ansible.builtin.uri call, interleaved in the same ansible-playbook run, timed per task.

A do-nothing set_fact is timed beside them: it is what any task costs, and the lookup runs
inside such a task, so "lookup minus noop" is the lookup's own cost.
"""

import clients
import playbook
from emulator import Emulator
from figures import median, ratio, rnd, rotated, summary

KINDS = ("info", "lookup", "uri", "noop")


def run(ctx):
    calls = ctx.call_reps
    sequence = []
    for rep in range(calls):
        sequence.extend(rotated(KINDS, rep))
    with Emulator(1000, ctx.workdir, as_is=ctx.emulator_as_is) as emu:
        entry_id = clients.first_page(emu, {})[0]["id"]
        clients.collection_get(emu, entry_id)  # the id exists; fail here, not in the play
        ctx.log("overhead: %d calls of each kind in one playbook run" % calls)
        records = playbook.run(ctx, "call_overhead.yml", {
            "bench_base_url": emu.url, "bench_api_key": emu.api_key, "bench_id": entry_id,
            "bench_sequence": sequence,
        }, "call-overhead")
    out = {"calls_per_kind": calls, "unit": "ms per task (median)", "kinds": {}}
    medians = {}
    for kind in KINDS:
        values = [d * 1000.0 for d in playbook.durations(records, "Call %s" % kind)]
        if len(values) != calls:
            raise RuntimeError("expected %d timed '%s' calls, got %d" % (calls, kind, len(values)))
        medians[kind] = median(values)
        out["kinds"][kind] = summary(values, 1)
    for kind in ("info", "lookup"):
        out["kinds"][kind]["ratio_to_uri"] = ratio(medians[kind], medians["uri"])
    out["kinds"]["lookup"]["own_cost_ms"] = rnd(medians["lookup"] - medians["noop"], 1)
    return out
