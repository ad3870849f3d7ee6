# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_log_report as Ansible runs it, over bundles written by the real export code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
    ExportOptions,
    run_export,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_report
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import FakeClient, run_module
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)


def export(dest, entries):
    opts = dict((name, None) for group in (FILTER_OPTIONS, READ_OPTIONS) for name in group)
    opts.update(page_size=100, order="newest_first", since="2026-11-01", until="2026-11-02",
                dest=str(dest), format="jsonl", settle="5m", base_url="http://127.0.0.1:9")
    run_export(FakeClient(entries), Query.from_options(opts, now=NOW),
               ExportOptions.from_params(opts), now=lambda: NOW)


@pytest.fixture
def run(capsys):
    def runner(args):
        return run_module(audit_log_report, args, capsys)[0]
    return runner


@pytest.fixture
def bundle_dir(tmp_path):
    dest = tmp_path / "bundle"
    export(dest, make_entries(120))
    return dest


class TestReportModule:

    def test_mode_option_sets_the_report_files_mode(self, run, bundle_dir):
        result = run({"src": str(bundle_dir), "mode": "0600"})
        assert result["changed"] is True
        for path in result["paths"].values():
            assert os.stat(path).st_mode & 0o777 == 0o600
        # The same mode again: nothing to change.
        assert run({"src": str(bundle_dir), "mode": "0600"})["changed"] is False
        assert run({"src": str(bundle_dir), "mode": "0644"})["changed"] is True

    def test_writes_both_reports_then_is_idempotent(self, run, bundle_dir):
        result = run({"src": str(bundle_dir)})
        assert result["changed"] is True and result["verified"] is True
        assert sorted(result["changed_files"]) == ["report.html", "report.md"]
        assert result["summary"]["entries"] == 120
        assert result["summary"]["new_client_ips"] is None
        again = run({"src": str(bundle_dir)})
        assert again["changed"] is False

    def test_check_mode_writes_nothing(self, run, bundle_dir):
        result = run({"src": str(bundle_dir), "_ansible_check_mode": True})
        assert result["changed"] is True
        assert not os.path.exists(str(bundle_dir / "report.md"))

    def test_tampered_bundle_is_refused(self, run, bundle_dir):
        with open(str(bundle_dir / "audit_log.jsonl"), "ab") as handle:
            handle.write(b'{"id":"forged"}\n')
        result = run({"src": str(bundle_dir)})
        assert result["failed"] is True and "failed verification" in result["msg"]
        assert "audit_log.jsonl" in result["msg"]

    def test_tampered_bundle_reported_with_a_warning_when_allowed(self, run, bundle_dir):
        with open(str(bundle_dir / "audit_log.jsonl"), "ab") as handle:
            handle.write(b'{"id":"forged"}\n')
        result = run({"src": str(bundle_dir), "require_verified": False, "formats": ["html"]})
        assert result["verified"] is False and "failed verification" in result["_warned"][0]
        with open(result["paths"]["html"], "rb") as handle:
            assert b"failed verification" in handle.read()

    def test_baseline_bundle_makes_addresses_known(self, run, tmp_path, bundle_dir):
        base = tmp_path / "base"
        export(base, make_entries(120))
        result = run({"src": str(bundle_dir), "baseline": [str(base)], "formats": ["markdown"]})
        assert result["summary"]["new_client_ips"] == 0

    def test_separate_dest_and_bad_values(self, run, tmp_path, bundle_dir):
        out = tmp_path / "out"
        result = run({"src": str(bundle_dir), "dest": str(out), "formats": ["markdown"]})
        assert os.listdir(str(out)) == ["report.md"]
        assert run({"src": str(bundle_dir), "top": 0})["failed"] is True
        assert run({"src": str(tmp_path / "missing")})["failed"] is True
