# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One memory probe, run as its own process so its peak RSS is its own.

    python probe.py '{"mode": ..., "collections": ..., "url": ..., "api_key": ..., "dest": ...}'

Modes: ``idle`` (imports, a client, one page: the floor every mode pays), ``scan`` (the
collection's client over every entry, each one dropped once counted), ``export`` (the export
module's own run, ``run_export``, to JSONL in ``dest``), ``export_parallel`` (the same over a
bounded window holding every entry, ``parallelism`` 8), ``session`` (a bare requests.Session
loop that decodes every page and drops it), ``module`` (a module file run with its arguments
file, see module_run). Prints one JSON line: entries, seconds, pages and
``peak_kib``, the process's own peak RSS (mode ``module`` adds ``child_peak_kib``, its
writer child's).

The peak is VmHWM from /proc/self/status, the high-water mark of this program's memory since
exec. ``ru_maxrss`` (getrusage, wait4) would not do: Linux carries the RSS of the forked
parent across exec into it, so every probe would report at least the driver's size.
"""

import json
import resource
import sys
import time


def peak_kib():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except IOError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux; an upper bound


def child_peak_kib():
    """The largest peak RSS of the children this process waited for (the export's writer
    process): ru_maxrss, which counts the pages it shares with this process from the fork."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def module_run(spec):
    """Mode ``module``: run one module file as Ansible runs it (``python module.py args.json``),
    here in this process so the peak is the module's own; its result is printed as ``result``."""
    import io  # pylint: disable=import-outside-toplevel
    import runpy  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, spec["collections"])
    sys.argv = [spec["module"], spec["args_file"]]
    out = io.StringIO()
    saved, sys.stdout = sys.stdout, out
    start = time.perf_counter()
    try:
        runpy.run_path(spec["module"], run_name="__main__")
    except SystemExit:
        pass  # exit_json and fail_json end the module this way
    finally:
        sys.stdout = saved
    seconds = time.perf_counter() - start
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    sys.stdout.write(json.dumps({"result": result, "seconds": seconds, "peak_kib": peak_kib(),
                                 "child_peak_kib": child_peak_kib()}) + "\n")


def main(spec):
    if spec["mode"] == "module":
        return module_run(spec)
    sys.path.insert(0, spec["collections"])
    sys.path.insert(0, spec["bench"])
    # Everything any mode needs is imported before the clock starts and by every mode, so
    # the modes differ only in what they do.
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (  # noqa
        ExportOptions,
        run_export,
    )
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (  # noqa
        AuditLogClient,
    )
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query  # noqa

    import clients  # noqa: E402  pylint: disable=import-outside-toplevel

    class Emu(object):
        url = spec["url"]
        api_key = spec["api_key"]
        ca_path = None

    mode = spec["mode"]
    start = time.perf_counter()
    if mode == "idle":
        with AuditLogClient(Emu.api_key, base_url=Emu.url) as client:
            scan = client.scan(Query.from_options({}), max_results=100)
            entries = sum(1 for entry in scan)
        result = {"entries": entries, "pages": scan.report["pages"]}
    elif mode == "scan":
        result = clients.collection_scan(Emu)
        result.pop("report")
    elif mode == "session":
        result = clients.session_scan(Emu)
    elif mode in ("export", "export_parallel"):
        options = {"dest": spec["dest"], "format": "jsonl", "settle": "5m", "page_size": 100,
                   "base_url": Emu.url}
        window = {}
        if mode == "export_parallel":
            # A bounded window holding every entry, read in slices that spill while they wait.
            window = {"since": spec["since"], "until": spec["until"]}
            options.update(window, parallelism=8)
        with AuditLogClient(Emu.api_key, base_url=Emu.url) as client:
            exported = run_export(client, Query.from_options(window),
                                  ExportOptions.from_params(options))
        result = {"entries": exported["written"], "pages": exported["counts"]["pages"],
                  "bytes": exported["files"]["audit_log.jsonl"]["bytes"],
                  "complete": exported["complete"]}
    else:
        raise SystemExit("unknown mode %r" % mode)
    result["seconds"] = time.perf_counter() - start
    result["peak_kib"] = peak_kib()
    result["child_peak_kib"] = child_peak_kib()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
