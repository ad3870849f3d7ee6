# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""1. Scan speed against the round-trip floor.

A full scan at page size 100 with a fixed latency injected into every API request. The floor
is pages x latency: no client can be faster over one connection. Alternatives, interleaved:
the collection's client, a bare requests.Session loop, and one ansible-playbook run with the
module, the module reading the same pages but returning nothing (what the entries' trip
back into Ansible costs) and an ansible.builtin.uri pagination playbook. The same in-process scans without
latency give what is left once the wait is gone (server and client work per page).
"""

import math

import clients
import playbook
from emulator import Emulator, latency_rule
from figures import median, ratio, rnd, rotated, summary

IN_PROCESS = ("collection_client", "requests_session")


def run(ctx):
    entries, latency_ms, page_size = ctx.scan_entries, 25, 100
    pages = int(math.ceil(entries / float(page_size)))
    floor = pages * latency_ms / 1000.0
    times = dict((name, []) for name in IN_PROCESS + (
        "module_playbook", "module_playbook_no_result", "uri_playbook"))
    unloaded = dict((name, []) for name in IN_PROCESS)
    uri_tasks = {"get": [], "collect": [], "collect_last": []}
    with Emulator(entries, ctx.workdir, as_is=ctx.emulator_as_is) as emu:
        scanners = {"collection_client": lambda: clients.collection_scan(emu, page_size=page_size),
                    "requests_session": lambda: clients.session_scan(emu, page_size=page_size)}
        # Warm-up, not timed: first imports, first connection, the server's first pages.
        for name in IN_PROCESS:
            _check(scanners[name](), entries, name)

        emu.set_faults(latency_rule(latency_ms))
        for rep in range(ctx.reps):
            for name in rotated(IN_PROCESS + ("playbook",), rep):
                if name == "playbook":
                    with_uri = rep < ctx.uri_reps
                    order = rotated(["module", "module_empty"] + (["uri"] if with_uri else []),
                                    rep)
                    ctx.log("scan speed: rep %d, playbook %s" % (rep + 1, "+".join(order)))
                    records = playbook.run(ctx, "scan_speed.yml", {
                        "bench_base_url": emu.url, "bench_api_key": emu.api_key,
                        "bench_order": order, "bench_expected": entries,
                    }, "scan-speed-%d" % rep)
                    times["module_playbook"].extend(playbook.durations(records, "Module scan"))
                    times["module_playbook_no_result"].extend(
                        playbook.durations(records, "Module scan no result"))
                    if with_uri:
                        times["uri_playbook"].append(playbook.span(records, "URI scan"))
                        # Where the uri playbook's time goes: the call per page, and the
                        # set_fact that appends a page to the list (it grows with the list).
                        uri_tasks["get"].extend(playbook.durations(records, "URI scan get page"))
                        collect = playbook.durations(records, "URI scan collect page")
                        uri_tasks["collect"].extend(collect)
                        uri_tasks["collect_last"].append(collect[-1])
                else:
                    result = scanners[name]()
                    _check(result, entries, name)
                    times[name].append(result["seconds"])
            ctx.log("scan speed: rep %d: %s" % (rep + 1, ", ".join(
                "%s %.2fs" % (k, v[-1]) for k, v in sorted(times.items()) if v)))

        emu.set_faults([])
        for rep in range(ctx.reps):
            for name in rotated(IN_PROCESS, rep):
                result = scanners[name]()
                _check(result, entries, name)
                unloaded[name].append(result["seconds"])

    out = {"entries": entries, "page_size": page_size, "pages": pages, "latency_ms": latency_ms,
           "floor_s": floor, "alternatives": {}, "without_latency": {}}
    # The bare requests loop only fetches and decodes: the least any client can do over the
    # same server, so "vs requests" isolates the client from the server's own time per page.
    baseline = median(times["requests_session"])
    for name, values in times.items():
        med = median(values)
        out["alternatives"][name] = dict(
            summary(values), ratio_to_floor=ratio(med, floor),
            ratio_to_requests_session=ratio(med, baseline),
            overhead_per_page_ms=rnd((med - floor) * 1000.0 / pages, 2) if med else None)
    for name, values in unloaded.items():
        out["without_latency"][name] = dict(
            summary(values), per_page_ms=rnd(median(values) * 1000.0 / pages, 2))
    # What the floor leaves out: the server's own time to build and send a page, and the
    # least a client does with it, as the bare loop shows them without latency.
    bare = median(unloaded["requests_session"])
    out["floor_plus_bare_work_s"] = rnd(floor + bare)
    out["collection_client_to_floor_plus_bare_work"] = ratio(
        median(times["collection_client"]), floor + bare)
    if uri_tasks["get"]:
        out["alternatives"]["uri_playbook"]["tasks_ms"] = {
            "uri_call_per_page": rnd(median(uri_tasks["get"]) * 1000.0, 0),
            "set_fact_append_per_page": rnd(median(uri_tasks["collect"]) * 1000.0, 0),
            "set_fact_append_last_page": rnd(median(uri_tasks["collect_last"]) * 1000.0, 0),
        }
    out["uri_reps"] = ctx.uri_reps
    return out


def _check(result, entries, name):
    if result["entries"] != entries:
        raise RuntimeError("%s read %d entries, expected %d" % (name, result["entries"], entries))
