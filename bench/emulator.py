# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One emulator process for a measurement: start, admin API (stats, reset, faults, config,
truth), stop."""

import json
import os
import select
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(os.path.dirname(HERE), "tests", "emulator", "serve.py")
SERVE_NODELAY = os.path.join(HERE, "serve_emulator.py")
START_TIMEOUT = 120.0


def latency_rule(ms):
    """The fault rule that delays every API request by ``ms`` milliseconds, no jitter."""
    return [{"kind": "latency", "fixed_ms": ms, "jitter_ms": 0, "path": "/v1/"}]


class Emulator(object):
    """``with Emulator(entries=10000, api="2026-08", tls=False, log_dir=...) as emu:``"""

    def __init__(self, entries, log_dir, api="2026-08", tls=False, seed=0, as_is=False):
        self.entries = entries
        self.api = api
        self.tls = tls
        self.seed = seed
        self.log_dir = log_dir
        self.as_is = as_is
        self.proc = None
        self.info = None
        self._stderr = None

    def start(self):
        script = SERVE if self.as_is else SERVE_NODELAY
        cmd = [sys.executable, script, "--entries", str(self.entries), "--seed", str(self.seed),
               "--api", self.api]
        if self.tls:
            cmd.append("--tls")
        name = "emulator-%d-%s%s.log" % (self.entries, self.api, "-tls" if self.tls else "")
        self._stderr = open(os.path.join(self.log_dir, name), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr)
        line = self._first_line()
        self.info = json.loads(line.decode("utf-8"))
        return self

    def _first_line(self):
        deadline = time.time() + START_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.time()
            if left <= 0 or self.proc.poll() is not None:
                log = self._stderr.name
                self.stop()
                raise RuntimeError("the emulator did not start (see %s)" % log)
            ready = select.select([self.proc.stdout], [], [], min(left, 1.0))[0]
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk
        return buf.split(b"\n", 1)[0]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what clients need --------------------------------------------------------------------

    @property
    def url(self):
        return self.info["url"]

    @property
    def api_key(self):
        return self.info["api_key"]

    @property
    def ca_path(self):
        return self.info.get("ca_path")

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

    def count(self, params):
        """How many entries the 2026-08 API lists for these filters (ground truth)."""
        return self._admin("GET", "truth", params=dict(params, ids_only="true"))["total_count"]
