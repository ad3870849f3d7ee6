# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""2. TCP connections for a 100-page scan over HTTPS, as the emulator counted them.

The collection's client against a client that opens a connection per request (requests.get
without a session), interleaved. The emulator's counters are reset before each scan.
"""

import clients
from emulator import Emulator
from figures import median, rotated, summary

ENTRIES = 10000  # 100 pages of 100


def run(ctx):
    results = dict((name, {"connections": [], "requests": [], "seconds": []})
                   for name in ("collection_client", "per_request_client"))
    with Emulator(ENTRIES, ctx.workdir, tls=True, as_is=ctx.emulator_as_is) as emu:
        scanners = {"collection_client": lambda: clients.collection_scan(emu),
                    "per_request_client": lambda: clients.per_request_scan(emu)}
        for rep in range(ctx.reps):
            for name in rotated(sorted(scanners), rep):
                emu.reset()
                result = scanners[name]()
                stats = emu.stats()
                if result["entries"] != ENTRIES:
                    raise RuntimeError("%s read %d entries" % (name, result["entries"]))
                results[name]["connections"].append(stats["connections"])
                results[name]["requests"].append(stats["requests"])
                results[name]["seconds"].append(result["seconds"])
            ctx.log("connections: rep %d: %s" % (rep + 1, ", ".join(
                "%s %d" % (k, v["connections"][-1]) for k, v in sorted(results.items()))))
    out = {"entries": ENTRIES, "pages": ENTRIES // 100, "tls": True, "alternatives": {}}
    for name, figures in results.items():
        out["alternatives"][name] = {
            "connections": summary(figures["connections"], 0),
            "requests": summary(figures["requests"], 0),
            "seconds": summary(figures["seconds"]),
        }
    out["alternatives"]["collection_client"]["connections_per_scan"] = median(
        results["collection_client"]["connections"])
    return out
