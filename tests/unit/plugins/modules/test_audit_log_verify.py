# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_log_verify as Ansible runs it, over chains written by the real export code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_verify
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    flip_a_byte,
    make_chain,
)


@pytest.fixture
def run(capsys):
    def runner(args):
        with module_args(args):
            with pytest.raises(SystemExit):
                audit_log_verify.main()
        return json.loads(capsys.readouterr().out)
    return runner


class TestVerifyModule:

    def test_intact_chain_succeeds_unchanged(self, run, tmp_path):
        paths = make_chain(tmp_path)
        result = run({"bundles": [str(tmp_path)]})
        assert result.get("failed") is not True
        assert result["ok"] is True and result["changed"] is False
        assert [b["path"] for b in result["bundles"]] == list(reversed(paths))
        assert all(b["verdict"] == "ok" for b in result["bundles"])

    def test_tampered_chain_fails_naming_bundle_and_file(self, run, tmp_path):
        paths = make_chain(tmp_path)
        flip_a_byte(os.path.join(paths[1], "manifest.json"))
        result = run({"bundles": paths})
        assert result["failed"] is True and result["ok"] is False
        # Newest first: November's link to October's altered manifest is met first.
        assert result["msg"].startswith("the evidence chain does not verify: bundle %s, file"
                                        " manifest.json" % paths[2])
        assert os.path.join(paths[1], "manifest.json") in result["msg"]
        october = result["bundles"][1]
        assert october["path"] == paths[1] and october["bad_files"] == ["manifest.json"]

    def test_fail_on_broken_false_reports_without_failing(self, run, tmp_path):
        paths = make_chain(tmp_path)
        result = run({"bundles": [paths[0], paths[2]], "fail_on_broken": False})
        assert result.get("failed") is not True and result["ok"] is False
        assert result["gaps"][0]["from"] == "2026-10-01T00:00:00Z"

    def test_no_bundle_is_a_clear_failure(self, run, tmp_path):
        result = run({"bundles": [str(tmp_path / "missing")]})
        assert result["failed"] is True
        assert result["msg"] == "bundles: %s is not a directory" % (tmp_path / "missing")
