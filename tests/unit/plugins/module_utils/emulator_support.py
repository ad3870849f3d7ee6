# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting the emulator and reading its ground truth, for the client tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query

EMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "emulator"))
NOW = "2026-11-28T12:00:00Z"
NOW_DT = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
SEED = 7
ENTRIES = 3000
API_KEY = "nl-test-key-5f1d3c0ffee"


class RunningEmulator(object):
    """A started emulator: its URL, key, admin API and ground truth."""

    def __init__(self, process, info, args):
        self.process = process
        self.info = info
        self.args = args
        self.url = info["url"]
        self.api_key = info["api_key"]
        self.ca_path = info.get("ca_path")
        import requests
        self.admin = requests.Session()
        self.admin.verify = self.ca_path or True
        self.admin.trust_env = False

    def _admin(self, method, path, **kwargs):
        response = self.admin.request(method, self.url + "/_emulator/" + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self):
        self._admin("POST", "reset")

    def faults(self, *rules):
        self._admin("PUT", "faults", json=list(rules))

    def stats(self):
        return self._admin("GET", "stats")

    def requests_log(self):
        return self.stats()["log"]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _die_with_parent():
    """Linux: the emulator gets SIGTERM when the process that started it dies, so no test
    run, however it ends, leaves emulators behind."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_emulator(*extra):
    args = [sys.executable, os.path.join(EMULATOR_DIR, "serve.py"), "--port", "0",
            "--seed", str(SEED), "--entries", str(ENTRIES), "--now", NOW,
            "--api-key", API_KEY] + list(extra)
    errors = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors,
                               universal_newlines=True, preexec_fn=_die_with_parent)
    line = process.stdout.readline()
    if not line:
        process.kill()
        errors.seek(0)
        raise RuntimeError("emulator did not start: %s" % errors.read())
    return RunningEmulator(process, json.loads(line), args)


def dataset(entries=ENTRIES):
    if EMULATOR_DIR not in sys.path:
        sys.path.insert(0, EMULATOR_DIR)
    from audit_emulator import Dataset
    return Dataset(seed=SEED, entries=entries, now=NOW)


def client_for(emulator, **kwargs):
    """A client of that emulator whose retry waits are recorded in ``client.waits``, not slept."""
    waits = []
    kwargs.setdefault("ca_path", emulator.ca_path)
    client = AuditLogClient(emulator.api_key, base_url=emulator.url, sleep=waits.append, **kwargs)
    client.waits = waits
    return client


def run(emulator, query_options, **scan_kwargs):
    query = Query.from_options(query_options, now=NOW_DT)
    with client_for(emulator) as client:
        scan = client.scan(query, **scan_kwargs)
        entries = list(scan)
    return entries, scan.report


def ids(entries):
    return [e["id"] for e in entries]
