# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The design targets checked against a run's figures, and the table printed on stdout."""

import report_economy

SCAN_TARGET = 1.10
MEMORY_TARGET = 1.2
# Issue 13: the default parallelism against the sequential floor, and an export against a
# plain read of the same entries.
PARALLEL_TARGET = 4.0
EXPORT_TARGET = 1.2

LABELS = {
    "collection_client": "collection client (module_utils)",
    "requests_session": "bare requests.Session loop",
    "module_playbook": "audit_log_info in ansible-playbook",
    "module_playbook_no_result": "  same pages, no entry returned",
    "uri_playbook": "ansible.builtin.uri pagination playbook",
    "per_request_client": "requests.get per page (no session)",
}


def _get(tree, *path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def targets(results):
    """[{name, target, measured, met}] for every design target the run measured."""
    out = []

    def add(name, target, measured, met):
        if measured is not None:
            out.append({"name": name, "target": target, "measured": measured, "met": bool(met)})

    ratio = _get(results, "scan", "alternatives", "collection_client", "ratio_to_floor")
    add("scan speed (collection client)", "<= %.2f x floor" % SCAN_TARGET, ratio,
        ratio is not None and ratio <= SCAN_TARGET)
    conns = _get(results, "connections", "alternatives", "collection_client", "connections",
                 "median")
    add("connections per scan", "1", conns, conns == 1)
    pages = _get(results, "pushdown", "filtering_api", "variants", "push_down", "pages", "median")
    expected = _get(results, "pushdown", "filtering_api", "expected_pages_push_down")
    add("pages with push-down", "ceil(matches/100) = %s" % expected, pages, pages == expected)
    pages = _get(results, "pushdown", "seed_api", "variants", "early_stop", "pages", "median")
    expected = _get(results, "pushdown", "seed_api", "expected_pages_early_stop")
    add("pages with early stop (seed API)", "ceil((matches+1)/100) = %s" % expected, pages,
        pages == expected)
    for mode in ("scan", "export", "export_parallel"):
        ratio = _get(results, "memory", "modes", mode, "ratio_large_to_small")
        add("peak memory, %s: large / small" % mode, "<= %.1f" % MEMORY_TARGET, ratio,
            ratio is not None and ratio <= MEMORY_TARGET)
    _parallel_targets(results, add)
    report_economy.targets(results, add)
    rate = _get(results, "event_source", "events_per_s_state_file")
    add("event source events/s (state_file, prompt consumer)", ">= 1000", rate,
        rate is not None and rate >= 1000)
    took = _get(results, "takeover", "killed_max_s")
    bound = _get(results, "takeover", "bound_killed_s")
    add("standby take-over after SIGKILL (max)", "<= %s s + a reconnect" % bound, took,
        took is not None and took <= bound + 1)
    return out


def _parallel_targets(results, add):
    speedup = _get(results, "parallel", "parallelism", "8", "speedup_vs_floor")
    add("parallel read, parallelism 8 (default)", ">= %.0f x floor" % PARALLEL_TARGET, speedup,
        speedup is not None and speedup >= PARALLEL_TARGET)
    rows = _get(results, "parallel", "export_vs_read") or {}
    for latency in (25, 0):
        for parallelism in (1, 8):
            row = rows.get("latency_%d_parallelism_%d" % (latency, parallelism)) or {}
            value = row.get("export_to_read")
            add("export / read, %d ms, parallelism %d" % (latency, parallelism),
                "<= %.1f" % EXPORT_TARGET, value, value is not None and value <= EXPORT_TARGET)
    export = _get(rows, "latency_25_parallelism_8", "export", "median")
    floor = _get(results, "parallel", "floor_s")
    add("parallel export vs sequential floor", "< floor %s s" % floor, export,
        export is not None and floor is not None and export < floor)


def _fmt(value, spec="%s", none="-"):
    return none if value is None else spec % value


def _rows(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                              for i, (c, w) in enumerate(zip(r, widths)))
             for r in [header] + rows]
    return lines


def _scan(res):
    lines = ["1. Scan speed: %d entries, %d pages, %d ms latency per request; floor %.2f s"
             % (res["entries"], res["pages"], res["latency_ms"], res["floor_s"])]
    rows = []
    for name in ("collection_client", "requests_session", "module_playbook",
                 "module_playbook_no_result", "uri_playbook"):
        alt = res["alternatives"].get(name) or {}
        runs = len([r for r in alt.get("runs") or [] if r is not None])
        rows.append([LABELS[name], _fmt(alt.get("median"), "%.2f s"),
                     _fmt(alt.get("ratio_to_floor"), "%.2f x"),
                     _fmt(alt.get("ratio_to_requests_session"), "%.2f x"),
                     _fmt(alt.get("overhead_per_page_ms"), "%+.1f ms"), runs])
    lines += _rows(["alternative", "median", "vs floor", "vs requests", "over floor/page",
                    "runs"], rows)
    if res.get("floor_plus_bare_work_s"):
        lines.append("  floor + the bare loop's own time without latency = %.2f s; collection client"
                     " at %.2f x of that" % (
                         res["floor_plus_bare_work_s"],
                         res["collection_client_to_floor_plus_bare_work"]))
    tasks = (res["alternatives"].get("uri_playbook") or {}).get("tasks_ms")
    if tasks:
        lines.append("  uri playbook per page: uri task %d ms, set_fact appending the page %d ms"
                     " (last page %d ms: it grows with the list)" % (
                         tasks["uri_call_per_page"], tasks["set_fact_append_per_page"],
                         tasks["set_fact_append_last_page"]))
    free = res.get("without_latency") or {}
    lines.append("  without latency: " + ", ".join(
        "%s %.2f s (%.1f ms/page)" % (LABELS[k].split(" (")[0], v["median"], v["per_page_ms"])
        for k, v in sorted(free.items()) if v.get("median") is not None))
    return lines


def _connections(res):
    lines = ["2. TCP connections for a %d-page scan over HTTPS (emulator's count)" % res["pages"]]
    rows = []
    for name in ("collection_client", "per_request_client"):
        alt = res["alternatives"][name]
        rows.append([LABELS[name], _fmt(alt["connections"]["median"], "%d"),
                     _fmt(alt["requests"]["median"], "%d"), _fmt(alt["seconds"]["median"], "%.2f s")])
    return lines + _rows(["client", "connections", "requests", "time"], rows)


def _pushdown(res):
    f, s = res["filtering_api"], res["seed_api"]
    lines = ["3. Pages fetched, %d entries" % res["entries"],
             "  2026-08 API, target_id with %d matches (%.2f %%): expected with push-down %d"
             % (f["matches"], f["share_pct"], f["expected_pages_push_down"]),
             "  seed API, since 1h, %d matches: expected with early stop %d"
             % (s["matches"], s["expected_pages_early_stop"])]
    rows = []
    for api, block, names in (("2026-08", f, ("push_down", "no_push_down")),
                              ("seed", s, ("early_stop", "no_early_stop"))):
        for name in names:
            v = block["variants"][name]
            rows.append(["%s: %s" % (api, name.replace("_", " ")), _fmt(v["pages"]["median"], "%d"),
                         _fmt(v["requests"]["median"], "%d"), _fmt(v["matched"]["median"], "%d"),
                         _fmt(v["seconds"]["median"], "%.2f s")])
    return lines + _rows(["scan", "pages", "requests", "matched", "time"], rows)


def _memory(res):
    small, large = res["sizes"]
    lines = ["4. Peak RSS (MiB), fresh process each; idle floor %.1f MiB" % res["idle"]["median"]]
    rows = []
    for mode, label in (("scan", "collection scan"), ("export", "export (run_export, JSONL)"),
                        ("export_parallel", "export, parallelism 8"),
                        ("session", "bare requests.Session loop")):
        m = res["modes"][mode]
        rows.append([label, _fmt(m["rss_small"]["median"], "%.1f"),
                     _fmt(m["rss_large"]["median"], "%.1f"),
                     _fmt(m["ratio_large_to_small"], "%.2f x"),
                     _fmt(m["entries_per_s_large"], "%d/s")])
    lines += _rows(["run", "%d" % small, "%d" % large, "ratio", "rate at %d" % large], rows)
    t = res["export_throughput"]
    lines.append("5. Export throughput: %d entries to JSONL (%.1f MiB) in %.1f s = %d entries/s,"
                 " %.1f MiB/s; %.2f x the time of a plain scan"
                 % (t["entries"], t["file_mib"], t["seconds"]["median"], t["entries_per_s"],
                    t["mib_per_s"], t["vs_scan"]))
    return lines


def _modules(res):
    small, large = res["sizes"]
    lines = ["7. Peak RSS (MiB) of the module processes, as Ansible runs them (JSONL export,"
             " then the report of that bundle)"]
    rows = []
    for name in ("audit_log_export", "audit_log_report"):
        m = res["modules"][name]
        rows.append([name, _fmt(m["rss_small"]["median"], "%.1f"),
                     _fmt(m["rss_large"]["median"], "%.1f"),
                     _fmt(m["ratio_large_to_small"], "%.2f x"),
                     _fmt(m["seconds_large"]["median"], "%.1f s"),
                     _fmt(m["entries_per_s_large"], "%d/s"),
                     "%s / %s" % (_fmt((m.get("child_rss_small") or {}).get("median"), "%.1f"),
                                  _fmt((m.get("child_rss_large") or {}).get("median"), "%.1f"))])
    return lines + _rows(["module", "%d" % small, "%d" % large, "ratio", "time at %d" % large,
                          "rate", "writer child %d / %d" % (small, large)], rows)


def _overhead(res):
    lines = ["6. Overhead per call, one entry by id, %d calls each in one playbook run"
             % res["calls_per_kind"]]
    rows = []
    for kind, label in (("info", "audit_log_info id=..."), ("lookup", "lookup by id (in set_fact)"),
                        ("uri", "ansible.builtin.uri GET"), ("noop", "set_fact, no call")):
        k = res["kinds"][kind]
        rows.append([label, _fmt(k["median"], "%.0f ms"), _fmt(k.get("ratio_to_uri"), "%.2f x")])
    lines += _rows(["task", "median", "vs uri"], rows)
    lines.append("  lookup's own cost (lookup - noop): %.0f ms" % res["kinds"]["lookup"]["own_cost_ms"])
    return lines


def _parallel(res):
    lines = ["8. Parallel time slices: %d entries (%d pages) at %d ms a request; floor %.2f s"
             " (pages x latency); every result equal to the sequential one"
             % (res["entries"], res["pages"], res["latency_ms"], res["floor_s"])]
    rows = []
    for key, row in sorted(res["parallelism"].items(), key=lambda kv: int(kv[0])):
        rows.append(["parallelism %s" % key, _fmt(row["median"], "%.2f s"),
                     _fmt(row["speedup_vs_floor"], "%.2f x"), _fmt(row["pages"]),
                     _fmt(row["slices"]), _fmt(row["probes"])])
    lines += _rows(["read", "time", "floor / time", "pages", "slices", "probes"], rows)
    cpu = res["cpu_per_page_ms"]
    lines.append("  CPU per page without latency (ms): emulator %s, client %s, wall %s"
                 " (sequential); emulator %s, client %s, wall %s (parallelism 8); %s cores" % (
                     cpu["emulator"], cpu["client"], cpu["wall_sequential"],
                     cpu["emulator_parallel_8"], cpu["client_parallel_8"],
                     cpu["wall_parallel_8"], cpu["cores"]))
    rows = []
    for key, row in sorted(res["export_vs_read"].items()):
        local = row.get("export_writer_in_this_process") or {}
        rows.append([key.replace("_", " "), _fmt(row["read"]["median"], "%.2f s"),
                     _fmt(row["export"]["median"], "%.2f s"),
                     _fmt(row["export_to_read"], "%.2f x"),
                     _fmt(local.get("median"), "%.2f s"),
                     _fmt(row.get("writer_here_to_read"), "%.2f x")])
    lines += _rows(["export vs plain read", "read", "export", "export / read",
                    "writer in the reader", "its / read"], rows)
    mod = res["module_fields"]
    lines.append("  audit_log_info in a playbook, %d entries: whole %.2f s, fields [id, action,"
                 " actor.name] %.2f s (%.2f x)" % (
                     mod["entries"], mod["whole"]["median"], mod["fields_3"]["median"],
                     mod["fields_to_whole"]))
    look = res["lookup_8_hosts_2_references"]
    lines.append("  one lookup query, 8 hosts x 2 references (%d entries, %d pages a scan):"
                 " %d API requests without cache, %d with" % (
                     look["entries"], look["pages_per_scan"], look["no_cache"]["requests"],
                     look["cache"]["requests"]))
    return lines


def _event_source(res):
    lines = ["9. Event source: %d entries into a one-slot queue with a prompt consumer:"
             " %s events/s with a state_file, %s without" % (
                 res["entries"], _fmt(res["events_per_s_state_file"], "%.0f"),
                 _fmt(res["events_per_s_no_state"], "%.0f"))]
    rows = [["%s remembered" % key, _fmt(row["record_ms"], "%.4f ms"),
             _fmt(row["snapshot_ms"], "%.2f ms"), _fmt(row["state_bytes"])]
            for key, row in sorted(res["state_cost"].items(), key=lambda kv: int(kv[0]))]
    lines += _rows(["state", "per event (journal)", "per batch (snapshot)", "bytes"], rows)
    return lines


def _takeover(res):
    return ["10. Standby take-over (state_dsn), %d times each, a try every %.0f s: %.2f s median"
            " (max %.2f) after the leader's process is SIGKILLed, %.2f s (max %.2f) after its"
            " session is terminated; stated bounds %.0f s, and %.0f s for a vanished host" % (
                res["reps"], res["standby_interval_s"], res["killed_median_s"],
                res["killed_max_s"], res["terminated_median_s"], res["terminated_max_s"],
                res["bound_killed_s"], res["bound_vanished_host_s"])]


def _feedback(res):
    return ["11. Acknowledged delivery: %d entries, state_file, a prompt engine: %s events/s"
            " without feedback, %s with (ratio %s)" % (
                res["entries"], _fmt(res["events_per_s_without_feedback"], "%.0f"),
                _fmt(res["events_per_s_with_feedback"], "%.0f"),
                _fmt(res["ratio_with_to_without"], "%.3f"))]


SECTIONS = (("scan", _scan), ("connections", _connections), ("pushdown", _pushdown),
            ("memory", _memory), ("overhead", _overhead), ("modules", _modules),
            ("parallel", _parallel), ("economy", report_economy.lines),
            ("event_source", _event_source), ("takeover", _takeover),
            ("feedback", _feedback))


def table(document):
    env, settings = document["environment"], document["settings"]
    lines = ["nirvana_labs.audit %s benchmarks (%s run: %d repetitions, medians)" % (
        env.get("collection_version"), "QUICK smoke" if settings["quick"] else "full",
        settings["reps"]),
        "%s CPUs (%s), Python %s, ansible-core %s, requests %s; load %s -> %s" % (
            env.get("cpus_usable"), env.get("cpu_model"), env.get("python"), env.get("ansible_core"),
            env.get("requests"), _fmt(env.get("load_average_start")),
            _fmt(env.get("load_average_end"))), ""]
    for name, render in SECTIONS:
        res = document["results"].get(name)
        if res is None:
            continue
        if "error" in res:
            lines += ["%s: FAILED: %s" % (name, res["error"]), ""]
            continue
        lines += render(res) + [""]
    if document["targets"]:
        lines.append("Design targets")
        rows = [[t["name"], t["target"], _fmt(t["measured"]), "met" if t["met"] else "NOT MET"]
                for t in document["targets"]]
        lines += _rows(["target", "wanted", "measured", ""], rows)
    return "\n".join(lines) + "\n"
