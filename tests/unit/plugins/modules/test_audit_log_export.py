# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_log_export as Ansible runs it: argument handling, failures, warnings, check mode.

The module runs for real (AnsibleModule, argument validation, exit_json/fail_json writing JSON
to stdout); only ``AuditLogClient`` is replaced, so no request is made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

import pytest

from ansible.module_utils import basic

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import module_args
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuthError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_export

API_KEY = "nl-unit-secret-export-41d9"
ENTRIES = [
    {"id": "b", "created_at": "2026-11-01T10:00:00Z", "action": "vm.deleted",
     "actor": {"id": "u1", "name": "Ann", "type": "user"}, "status_code": 204},
    {"id": "a", "created_at": "2026-11-01T09:00:00Z", "action": "vm.created",
     "actor": {"id": "k1", "name": None, "type": "api_key"}, "status_code": 201,
     "target": None},
]


def report(**overrides):
    base = {"pages": 1, "scanned": 2, "matched": 2, "duplicates": 0, "total_count": 2,
            "pushed_down": {}, "stopped_early": False, "stop_reason": None, "truncated": False,
            "next_cursor": None, "resumed": False,
            "window": {"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"},
            "order": {"requested": "newest_first", "sort_sent": "created_at:desc",
                      "observed": "newest_first"}}
    base.update(overrides)
    return base


class FakeScan(object):
    def __init__(self, entries, final, error):
        self._entries, self._final, self._error = entries, final, error
        self.report = {"pages": 0}

    def __iter__(self):
        yield from self._entries
        if self._error is not None:
            raise self._error
        self.report = self._final


class FakeClient(object):
    def __init__(self, options, entries=None, final=None, scan_error=None):
        self.options = options
        self.entries = ENTRIES if entries is None else entries
        self.final, self.scan_error = final or report(), scan_error
        self.scans = []
        self.closed = False

    def scan(self, query, page_size=100, max_results=None, cursor=None, max_pages=None,
             deadline=None):
        self.guards = (max_pages, deadline)
        self.scans.append((query, page_size, max_results))
        return FakeScan(self.entries, self.final, self.scan_error)

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@pytest.fixture
def run(capsys, monkeypatch):
    for schema in CONNECTION_OPTIONS.values():
        for env in schema.get("env", []):
            monkeypatch.delenv(env, raising=False)

    def runner(args, **client_kwargs):
        made = []

        def from_options(options):
            made.append(FakeClient(options, **client_kwargs))
            return made[-1]

        warned = []
        real_warn = basic.AnsibleModule.warn

        def warn(module, warning, *a, **k):
            # Recorded here: ansible-core 2.19+ keeps warnings in process-wide state that
            # outlives one test, and shapes them differently from older versions.
            warned.append(warning)
            return real_warn(module, warning, *a, **k)

        with mock.patch.object(audit_log_export.AuditLogClient, "from_options",
                               side_effect=from_options), \
                mock.patch.object(basic.AnsibleModule, "warn", warn):
            with module_args(args):
                with pytest.raises(SystemExit):
                    audit_log_export.main()
        out = capsys.readouterr().out
        result = json.loads(out)
        result["_warned"] = warned
        return result, out, (made[0] if made else None)

    return runner


def base_args(tmp_path, **extra):
    args = {"api_key": API_KEY, "base_url": "http://127.0.0.1:1", "since": "2026-11-01",
            "until": "2026-11-02", "dest": str(tmp_path / "bundle")}
    args.update(extra)
    return args


class TestSuccess:

    def test_exports_and_returns_paths_counts_and_judgements(self, run, tmp_path):
        result, out, client = run(base_args(tmp_path, format="both", page_size=50))
        assert result["changed"] is True
        assert result["written"] == 2 and result["complete"] is True and result["final"] is True
        assert sorted(result["files"]) == ["audit_log.csv", "audit_log.jsonl"]
        assert os.path.isfile(result["sums_path"]) and os.path.isfile(result["manifest_path"])
        assert client.scans[0][1] == 50 and client.closed
        # The key reaches the client and nothing else: not the result, not the files.
        assert client.options["api_key"] == API_KEY
        assert API_KEY not in out
        for name in os.listdir(result["dest"]):
            with open(os.path.join(result["dest"], name), "rb") as handle:
                assert API_KEY.encode() not in handle.read()

    def test_the_query_the_module_builds_carries_the_filters(self, run, tmp_path):
        _result, _out, client = run(base_args(tmp_path, action=["vm.*"], order="oldest_first"))
        query = client.scans[0][0]
        assert query.order == "oldest_first"
        assert query.describe()["action"] == ["vm.*"]

    def test_second_run_is_not_changed(self, run, tmp_path):
        run(base_args(tmp_path))
        result, _out, _client = run(base_args(tmp_path))
        assert result["changed"] is False and result["changed_files"] == []

    def test_check_mode_writes_nothing(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, _ansible_check_mode=True))
        assert result["changed"] is True
        assert not os.path.exists(str(tmp_path / "bundle"))


class TestWarnings:

    def test_count_mismatch_warns_and_says_incomplete(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, require_complete=False),
                                    final=report(total_count=5))
        assert result["complete"] is False
        assert len(result["_warned"]) == 1 and "not complete" in result["_warned"][0]

    def test_truncated_warns(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, max_results=1, require_complete=False),
                                    final=report(truncated=True))
        assert result["completeness"]["status"] == "truncated"
        assert len(result["_warned"]) == 1 and "max_results" in result["_warned"][0]


class TestRequireComplete:

    def test_a_mismatch_fails_after_writing_the_bundle(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path), final=report(total_count=5))
        assert result["failed"] is True
        assert result["msg"].startswith("The bundle is not complete: the server's total_count"
                                        " is 5 but 2 distinct entries were received")
        assert result["msg"].endswith("with complete=false in its manifest"
                                      " (require_complete=true).")
        with open(str(tmp_path / "bundle" / "manifest.json")) as handle:
            manifest = json.load(handle)
        assert manifest["completeness"]["complete"] is False
        assert manifest["completeness"]["status"] == "mismatch"

    def test_a_guard_stop_fails_and_the_manifest_records_the_scans_reason(self, run, tmp_path):
        reason = "stopped after max_pages=1 pages; the server has more (resume with next_cursor)"
        result, _out, client = run(base_args(tmp_path, max_pages=1),
                                   final=report(stopped_by="max_pages", complete=False,
                                                incomplete_reason=reason))
        assert client.guards == (1, None)
        assert result["failed"] is True and reason in result["msg"]
        with open(str(tmp_path / "bundle" / "manifest.json")) as handle:
            completeness = json.load(handle)["completeness"]
        assert completeness["status"] == "stopped" and completeness["complete"] is False
        assert completeness["incomplete_reason"] == reason

    def test_unknown_completeness_does_not_fail(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path), final=report(total_count=None))
        assert not result.get("failed") and result["complete"] is None

    def test_complete_export_has_no_warning(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path))
        assert result["_warned"] == []


class TestFailures:

    def test_transport_error_mid_scan_fails_cleanly_and_leaves_no_file(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path),
                                    scan_error=TransportError("connection reset by peer"))
        assert result["failed"] is True and "connection reset" in result["msg"]
        assert os.listdir(str(tmp_path / "bundle")) == []

    def test_auth_error_keeps_status(self, run, tmp_path):
        result, out, _client = run(base_args(tmp_path),
                                   scan_error=AuthError("unauthorized (HTTP 401)", 401))
        assert result["failed"] is True and result["status"] == 401
        assert API_KEY not in out

    @pytest.mark.parametrize("args,option", [
        ({"settle": "later"}, "settle"),
        ({"since": "yesterday-ish"}, "since"),
        ({"status_code": ["6xx"]}, "status_code"),
    ])
    def test_invalid_values_name_the_option(self, run, tmp_path, args, option):
        result, _out, _client = run(base_args(tmp_path, **args))
        assert result["failed"] is True and result["msg"].startswith(option + ":")

    def test_unknown_format_is_refused_by_the_argument_spec(self, run, tmp_path):
        result, _out, client = run(base_args(tmp_path, format="xml"))
        assert result["failed"] is True and "format" in result["msg"] and client is None

    def test_dest_is_required(self, run, tmp_path):
        args = base_args(tmp_path)
        del args["dest"]
        result, _out, _client = run(args)
        assert result["failed"] is True and "dest" in result["msg"]
