# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting the emulator and reading its ground truth, for the client tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import sys

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.tests.emulator.launcher import EmulatorProcess

EMULATOR_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "emulator"))
NOW = "2026-11-28T12:00:00Z"
NOW_DT = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
SEED = 7
ENTRIES = 3000
API_KEY = "nl-test-key-5f1d3c0ffee"


class RunningEmulator(EmulatorProcess):
    """A started emulator (tests/emulator/launcher.py): its URL, key, admin API and ground
    truth. It stops when the process that started it dies."""

    def __init__(self, args):
        super(RunningEmulator, self).__init__(args, die_with_parent=True)
        self._session = None

    @property
    def admin(self):
        if self._session is None:
            import requests
            self._session = requests.Session()
            self._session.verify = self.ca_path or True
            self._session.trust_env = False
        return self._session

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


def start_emulator(*extra):
    args = ["--seed", str(SEED), "--entries", str(ENTRIES), "--now", NOW,
            "--api-key", API_KEY] + list(extra)
    return RunningEmulator(args).start()


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
