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

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import (
    clear_connection_env,
    patch_client,
    run_module,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuthError,
    TransportError,
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


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the module with args and a fake client of ENTRIES; (result, raw stdout, client)."""
    clear_connection_env(monkeypatch)

    def runner(args, **client_kwargs):
        client_kwargs.setdefault("entries", ENTRIES)
        with patch_client(audit_log_export, **client_kwargs) as factory:
            result, out = run_module(audit_log_export, args, capsys)
        return result, out, factory.client

    return runner


def base_args(tmp_path, **extra):
    args = {"api_key": API_KEY, "base_url": "http://127.0.0.1:1", "since": "2026-11-01",
            "until": "2026-11-02", "dest": str(tmp_path / "bundle")}
    args.update(extra)
    return args


class TestSuccess:

    def test_files_are_owner_and_group_only_and_mode_applies(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, format="both"))
        for path in [result["manifest_path"], result["sums_path"]] + [
                info["path"] for info in result["files"].values()]:
            assert os.stat(path).st_mode & 0o077 in (0o040, 0o000), path
        again, _out, _client = run(base_args(tmp_path, format="both", mode="0600"))
        assert again["changed"] is True and again["changed_files"] == []
        assert os.stat(again["manifest_path"]).st_mode & 0o777 == 0o600

    def test_a_window_not_final_warns(self, run, tmp_path):
        window = {"since": "2026-11-01T00:00:00Z", "until": "2099-01-01T00:00:00Z"}
        result, _out, _client = run(base_args(tmp_path, since="2026-11-01", until="2099-01-01"),
                                    report={"window": window})
        assert result["final"] is False
        assert any("The window is not final" in w for w in result["_warned"])

    def test_a_missing_previous_says_to_omit_it_for_a_first_period(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, previous=str(tmp_path / "2026-10")))
        assert result["failed"] is True
        assert "omit previous" in result["msg"]

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
                                    report={"total_count": 5})
        assert result["complete"] is False
        assert len(result["_warned"]) == 1 and "not complete" in result["_warned"][0]

    def test_truncated_warns(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path, max_results=1, require_complete=False),
                                    report={"truncated": True})
        assert result["completeness"]["status"] == "truncated"
        assert len(result["_warned"]) == 1 and "max_results" in result["_warned"][0]


class TestRequireComplete:

    def test_a_mismatch_fails_after_writing_the_bundle(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path), report={"total_count": 5})
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
                                   report={"stopped_by": "max_pages", "complete": False,
                                           "incomplete_reason": reason})
        assert client.guards == (1, None)
        assert result["failed"] is True and reason in result["msg"]
        with open(str(tmp_path / "bundle" / "manifest.json")) as handle:
            completeness = json.load(handle)["completeness"]
        assert completeness["status"] == "stopped" and completeness["complete"] is False
        assert completeness["incomplete_reason"] == reason

    def test_unknown_completeness_does_not_fail(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path), report={"total_count": None})
        assert not result.get("failed") and result["complete"] is None

    def test_complete_export_has_no_warning(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path))
        assert result["_warned"] == []


class TestFailures:

    def test_transport_error_mid_scan_fails_cleanly_and_leaves_no_file(self, run, tmp_path):
        result, _out, _client = run(base_args(tmp_path),
                                    scan_error=TransportError("connection reset by peer"))
        assert result["failed"] is True and "connection reset" in result["msg"]
        # Nothing but the lock file, which stays (see evidence/lock.py).
        assert os.listdir(str(tmp_path / "bundle")) == [".audit_log.lock"]

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
