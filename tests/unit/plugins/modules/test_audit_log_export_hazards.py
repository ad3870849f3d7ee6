# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence is never overwritten or misplaced (issue 24), through the modules as Ansible runs
them: another window or query in dest is refused unless force, relative paths are refused,
and a gap to the previous bundle fails unless allow_gap (then recorded and reported)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.modules import (
    audit_log_export,
    audit_log_report,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import (
    clear_connection_env,
    patch_client,
    run_module,
)

API_KEY = "nl-unit-secret-hazards-7c1e"


def entries_of(day):
    return [{"id": "e%s-%d" % (day, n), "created_at": "2026-%sT%02d:00:00Z" % (day, n),
             "action": "vm.created", "actor": {"id": "u1", "name": "Ann", "type": "user"},
             "status_code": 201, "client_ip": "10.0.0.%d" % n} for n in range(1, 4)]


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the export module; (result, client) with the client None when none was made."""
    clear_connection_env(monkeypatch)

    def runner(args, entries=None):
        with patch_client(audit_log_export, entries=entries or []) as factory:
            result, _out = run_module(audit_log_export, args, capsys)
        return result, factory.client

    return runner


def args_for(dest, since="2026-10-01", until="2026-11-01", **extra):
    args = {"api_key": API_KEY, "base_url": "http://127.0.0.1:1", "since": since,
            "until": until, "dest": str(dest), "format": "jsonl"}
    args.update(extra)
    return args


def snapshot(directory):
    return dict((name, hashlib.sha256(open(os.path.join(str(directory), name), "rb").read())
                 .hexdigest()) for name in sorted(os.listdir(str(directory)))
                if not name.startswith("."))


def scans(client):
    return [] if client is None else [call for call in client.calls if call[0] == "scan"]


class TestAnotherBundleInDest:

    @pytest.fixture
    def october(self, run, tmp_path):
        dest = tmp_path / "2026-10"
        result, _client = run(args_for(dest), entries_of("10-02"))
        assert result["changed"] is True
        return dest

    def test_another_window_is_refused_naming_both_and_nothing_changes(self, run, october):
        before = snapshot(october)
        result, client = run(args_for(october, since="2026-11-01", until="2026-12-01"),
                             entries_of("11-02"))
        assert result["failed"] is True and result["msg"].startswith("dest:")
        assert "2026-10-01T00:00:00Z to 2026-11-01T00:00:00Z there" in result["msg"]
        assert "2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z here" in result["msg"]
        assert "force=true" in result["msg"]
        assert snapshot(october) == before and scans(client) == []

    def test_another_query_is_refused_naming_the_difference(self, run, october):
        result, _client = run(args_for(october, action=["vm.deleted"]), entries_of("10-02"))
        assert result["failed"] is True
        assert 'action not set there, ["vm.deleted"] here' in result["msg"]

    def test_check_mode_refuses_too(self, run, october):
        args = args_for(october, since="2026-11-01", until="2026-12-01", _ansible_check_mode=True)
        result, _client = run(args, entries_of("11-02"))
        assert result["failed"] is True and "another window" in result["msg"]

    def test_the_same_window_again_is_unchanged(self, run, october):
        before = snapshot(october)
        result, _client = run(args_for(october), entries_of("10-02"))
        assert result["changed"] is False and result["changed_files"] == []
        assert snapshot(october) == before

    def test_the_same_window_typed_otherwise_and_other_read_settings_are_a_re_run(
            self, run, october):
        before = snapshot(october)
        result, _client = run(args_for(october, since="2026-10-01T00:00:00Z", page_size=50,
                                       format="both"), entries_of("10-02"))
        # The manifest records the options as typed (so it changes); the evidence does not.
        assert result.get("failed") is not True
        assert snapshot(october)["audit_log.jsonl"] == before["audit_log.jsonl"]

    def test_force_replaces_it(self, run, october):
        result, _client = run(args_for(october, since="2026-11-01", until="2026-12-01",
                                       force=True), entries_of("11-02"))
        assert result["changed"] is True
        manifest = json.loads((october / "manifest.json").read_text())
        assert manifest["window"]["since"] == "2026-11-01T00:00:00Z"

    def test_an_unreadable_manifest_is_not_replaced_without_force(self, run, tmp_path):
        dest = tmp_path / "odd"
        dest.mkdir()
        (dest / "manifest.json").write_text("not json")
        result, _client = run(args_for(dest), entries_of("10-02"))
        assert result["failed"] is True and "cannot be read" in result["msg"]
        assert (dest / "manifest.json").read_text() == "not json"
        forced, _client = run(args_for(dest, force=True), entries_of("10-02"))
        assert forced["changed"] is True


class TestRelativePaths:

    @pytest.mark.parametrize("option", ["dest", "previous"])
    def test_a_relative_path_is_refused_before_anything_is_written(
            self, run, tmp_path, monkeypatch, option):
        monkeypatch.chdir(str(tmp_path))
        args = args_for(tmp_path / "abs")
        args[option] = "evidence/2026-10"
        result, client = run(args, entries_of("10-02"))
        assert result["failed"] is True and result["msg"].startswith(option + ":")
        assert "'evidence/2026-10' is a relative path" in result["msg"]
        assert "{{ playbook_dir }}/evidence/2026-10" in result["msg"]
        assert not (tmp_path / "evidence").exists() and not (tmp_path / "abs").exists()
        assert scans(client) == []

    @pytest.mark.parametrize("option", ["src", "dest", "baseline"])
    def test_the_report_refuses_relative_paths_too(self, capsys, tmp_path, monkeypatch, option):
        monkeypatch.chdir(str(tmp_path))
        args = {"src": str(tmp_path / "bundle")}
        args[option] = ["reports"] if option == "baseline" else "reports"
        result, _out = run_module(audit_log_report, args, capsys)
        assert result["failed"] is True and result["msg"].startswith(option + ":")
        assert "relative path" in result["msg"] and not (tmp_path / "reports").exists()


class TestGapToPrevious:

    @pytest.fixture
    def october(self, run, tmp_path):
        dest = tmp_path / "2026-10"
        run(args_for(dest, until="2026-10-18"), entries_of("10-02"))
        return dest

    def test_a_gap_fails_before_reading(self, run, tmp_path, october):
        dest = tmp_path / "2026-11"
        result, client = run(args_for(dest, since="2026-11-01", until="2026-12-01",
                                      previous=str(october)), entries_of("11-02"))
        assert result["failed"] is True and result["msg"].startswith("previous:")
        assert "2026-10-18T00:00:00Z to 2026-11-01T00:00:00Z" in result["msg"]
        assert "allow_gap=true" in result["msg"]
        assert scans(client) == [] and not (dest / "manifest.json").exists()

    def test_an_accepted_gap_is_recorded_warned_and_reported(self, run, tmp_path, october,
                                                             capsys):
        dest = tmp_path / "2026-11"
        result, _client = run(args_for(dest, since="2026-11-01", until="2026-12-01",
                                       previous=str(october), allow_gap=True),
                              entries_of("11-02"))
        gap = {"since": "2026-10-18T00:00:00Z", "until": "2026-11-01T00:00:00Z",
               "accepted": True}
        assert result.get("failed") is not True and result["previous"]["gap"] == gap
        assert result["previous"]["contiguous"] is False
        assert any("gap" in w and "allow_gap=true" in w for w in result["_warned"])
        assert json.loads((dest / "manifest.json").read_text())["previous"]["gap"] == gap
        report, _out = run_module(audit_log_report, {"src": str(dest)}, capsys)
        assert report["previous_gap"] == gap
        assert any("gap" in w for w in report["_warned"])
        assert ("2026-10-18T00:00:00Z to 2026-11-01T00:00:00Z is in no bundle"
                in (dest / "report.md").read_text())
        assert "is in no bundle" in (dest / "report.html").read_text()

    def test_a_contiguous_chain_records_no_gap(self, run, tmp_path, october):
        dest = tmp_path / "2026-10b"
        result, _client = run(args_for(dest, since="2026-10-18", until="2026-11-01",
                                       previous=str(october)), entries_of("10-20"))
        assert result["previous"]["contiguous"] is True and "gap" not in result["previous"]
