# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One emulator process for a measurement: start, admin API (stats, reset, faults, config,
truth), stop."""

import json
import os
import ssl
import sys
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "emulator"))

from launcher import SERVE, EmulatorProcess  # noqa: E402 pylint: disable=wrong-import-position

SERVE_NODELAY = os.path.join(HERE, "serve_emulator.py")


def latency_rule(ms):
    """The fault rule that delays every API request by ``ms`` milliseconds, no jitter."""
    return [{"kind": "latency", "fixed_ms": ms, "jitter_ms": 0, "path": "/v1/"}]


class Emulator(EmulatorProcess):
    """``with Emulator(entries=10000, api="2026-08", tls=False, log_dir=...) as emu:``; its
    stderr goes to a log file in ``log_dir``."""

    def __init__(self, entries, log_dir, api="2026-08", tls=False, seed=0, as_is=False):
        args = ["--entries", entries, "--seed", seed, "--api", api] + (["--tls"] if tls else [])
        name = "emulator-%d-%s%s.log" % (entries, api, "-tls" if tls else "")
        super(Emulator, self).__init__(args, script=SERVE if as_is else SERVE_NODELAY,
                                       stderr=os.path.join(log_dir, name))
        self.entries = entries
        self.tls = tls

    # -- admin API ----------------------------------------------------------------------------

    def _admin(self, method, name, body=None, params=None):
        url = "%s/%s" % (self.info["admin_url"], name)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        context = ssl.create_default_context(cafile=self.ca_path) if self.tls else None
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            return json.loads(response.read().decode("utf-8"))

    def stats(self):
        return self._admin("GET", "stats")

    def reset(self):
        """Zero the counters; also removes every fault rule."""
        return self._admin("POST", "reset")

    def set_faults(self, rules):
        return self._admin("PUT", "faults", rules)

    def set_api(self, generation):
        return self._admin("PUT", "config", {"api": generation})

    def set_config(self, **changes):
        """``rate_limit`` (requests/s or None), ``connect_latency_ms``, ``api``."""
        return self._admin("PUT", "config", changes)

    def count(self, params):
        """How many entries the 2026-08 API lists for these filters (ground truth)."""
        return self._admin("GET", "truth", params=dict(params, ids_only="true"))["total_count"]
