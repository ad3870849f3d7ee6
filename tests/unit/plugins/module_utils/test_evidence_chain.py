# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chains of bundles: verified by chain.py, by the offline script that loads it by path, and
before linking by the export."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_export import (  # noqa: E501
    FakeClient,
    export,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCRIPT = os.path.join(ROOT, "tools", "verify_evidence_chain.py")
CHAIN_PY = os.path.join(ROOT, "plugins", "module_utils", "evidence", "chain.py")
INPUTS_PY = os.path.join(ROOT, "plugins", "module_utils", "evidence", "bundle_inputs.py")
ATTEST_PY = os.path.join(ROOT, "plugins", "module_utils", "evidence", "attestation.py")
PERIODS = (("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01"),
           ("2026-11-01", "2026-12-01"))


def make_chain(base, periods=PERIODS):
    """One bundle per period under ``base``, each linked to the one before."""
    previous = None
    paths = []
    for since, until in periods:
        dest = base / since[:7]
        export(FakeClient(make_entries(5)), dest, since=since, until=until, previous=previous)
        previous = str(dest)
        paths.append(str(dest))
    return paths


def flip_a_byte(path):
    with open(path, "r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(b"{" if first != b"{" else b"[")


class TestIntactChain:

    def test_three_periods_verify_newest_first(self, tmp_path):
        paths = make_chain(tmp_path)
        result = chain.verify_chain([str(tmp_path)])
        assert result["ok"] is True and result["first_broken"] is None
        assert [b["path"] for b in result["bundles"]] == list(reversed(paths))
        assert [b["link"] for b in result["bundles"]] == ["ok", "ok", "start"]
        assert [b["continuity"] for b in result["bundles"]] == ["contiguous", "contiguous", None]
        assert result["gaps"] == [] and result["overlaps"] == []
        assert result["summary"].startswith(
            "3 of 3 bundles valid, covering 2026-09-01T00:00:00Z to 2026-12-01T00:00:00Z")

    def test_a_list_in_any_order_gives_the_same_verdict(self, tmp_path):
        paths = make_chain(tmp_path)
        shuffled = [paths[1], paths[2], paths[0]]
        assert chain.verify_chain(shuffled)["bundles"] == chain.verify_chain(paths)["bundles"]

    def test_the_oldest_may_link_outside_the_given_bundles(self, tmp_path):
        paths = make_chain(tmp_path)
        result = chain.verify_chain(paths[1:])
        assert result["ok"] is True
        assert result["bundles"][-1]["link"] == "outside"


class TestBrokenChain:

    def test_a_tampered_byte_names_the_bundle_and_the_file(self, tmp_path):
        paths = make_chain(tmp_path)
        flip_a_byte(os.path.join(paths[1], "audit_log.jsonl"))
        result = chain.verify_chain([str(tmp_path)])
        assert result["ok"] is False
        assert result["first_broken"] == {
            "bundle": paths[1], "file": "audit_log.jsonl",
            "problem": "audit_log.jsonl does not match its SHA-256 in SHA256SUMS"}
        verdicts = [b["verdict"] for b in result["bundles"]]
        assert verdicts == ["ok", "failed", "ok"]

    def test_a_rewritten_manifest_with_fresh_sums_breaks_the_next_link(self, tmp_path):
        # An attacker who rewrites October's manifest and SHA256SUMS passes sha256sum -c; the
        # link November recorded does not.
        paths = make_chain(tmp_path)
        manifest_path = os.path.join(paths[1], "manifest.json")
        with open(manifest_path) as handle:
            manifest = json.load(handle)
        manifest["counts"]["written"] = 4
        data = json.dumps(manifest).encode("utf-8")
        with open(manifest_path, "wb") as handle:
            handle.write(data)
        sums_path = os.path.join(paths[1], "SHA256SUMS")
        with open(sums_path) as handle:
            lines = [line for line in handle if not line.endswith(" manifest.json\n")]
        lines.append("%s  manifest.json\n" % chain.file_sha256(manifest_path))
        with open(sums_path, "w") as handle:
            handle.writelines(lines)
        result = chain.verify_chain([str(tmp_path)])
        assert result["ok"] is False
        newest = result["bundles"][0]
        assert newest["files_ok"] is True and newest["link"] == "broken"
        assert result["first_broken"]["bundle"] == paths[2]
        assert result["first_broken"]["file"] == "manifest.json"
        assert paths[1] in result["first_broken"]["problem"]
        assert result["bundles"][1]["verdict"] == "ok"

    def test_a_missing_period_is_a_gap_and_a_missing_link(self, tmp_path):
        paths = make_chain(tmp_path)
        result = chain.verify_chain([paths[0], paths[2]])
        assert result["ok"] is False
        assert result["gaps"] == [{"older": paths[0], "newer": paths[2],
                                   "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}]
        assert result["bundles"][0]["link"] == "broken"
        assert result["bundles"][0]["continuity"] == "gap"

    def test_overlapping_windows_are_reported(self, tmp_path):
        # The export refuses to link an overlapping window (manifest.continuation_problem), so
        # the newer bundle is written on its own, as one made elsewhere would be.
        paths = [str(tmp_path / "a"), str(tmp_path / "b")]
        export(FakeClient(make_entries(5)), paths[0], since="2026-09-01", until="2026-10-02")
        export(FakeClient(make_entries(5)), paths[1], since="2026-10-01", until="2026-11-01")
        result = chain.verify_chain(paths)
        assert result["ok"] is False
        assert result["overlaps"][0]["older"] == paths[0]
        assert result["bundles"][0]["continuity"] == "overlap"

    def test_an_unlinked_bundle_after_an_older_one_is_missing_its_link(self, tmp_path):
        first = tmp_path / "a"
        second = tmp_path / "b"
        export(FakeClient(make_entries(2)), first, since="2026-09-01", until="2026-10-01")
        export(FakeClient(make_entries(2)), second, since="2026-10-01", until="2026-11-01")
        result = chain.verify_chain([str(tmp_path)])
        assert result["bundles"][0]["link"] == "missing"
        assert result["first_broken"]["file"] == "manifest.json"

    def test_a_directory_without_bundles_is_an_error(self, tmp_path):
        with pytest.raises(ValueError) as err:
            chain.verify_chain([str(tmp_path)])
        assert "holds no evidence bundle" in str(err.value)


class TestPreviousVerifiedBeforeLinking:

    def test_a_tampered_previous_bundle_fails_the_export_naming_it(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS[:1])
        flip_a_byte(os.path.join(paths[0], "audit_log.csv"))
        with pytest.raises(InvalidOption) as err:
            export(FakeClient(make_entries(2)), tmp_path / "next", since="2026-10-01",
                   until="2026-11-01", previous=paths[0])
        message = str(err.value)
        assert paths[0] in message and "audit_log.csv does not match" in message
        assert not os.path.exists(str(tmp_path / "next" / "manifest.json"))

    def test_link_anyway_is_recorded_and_reported_by_the_chain(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS[:1])
        flip_a_byte(os.path.join(paths[0], "audit_log.csv"))
        result = export(FakeClient(make_entries(2)), tmp_path / "next", since="2026-10-01",
                        until="2026-11-01", previous=paths[0], previous_unverified="link")
        assert result["previous"]["verified"] is False
        assert result["previous"]["problems"] == [
            "audit_log.csv does not match its SHA-256 in SHA256SUMS"]
        verdict = chain.verify_chain([str(tmp_path)])
        assert verdict["bundles"][0]["link"] == "unverified"
        assert verdict["first_broken"]["bundle"] == paths[0]


class TestOfflineScript:

    def run_script(self, *args):
        # -I -S: isolated, no site-packages: the standard library is all the script has.
        return subprocess.run([sys.executable, "-I", "-S", SCRIPT] + list(args),
                              capture_output=True, text=True, check=False)

    def test_intact_chain_exits_0(self, tmp_path):
        make_chain(tmp_path)
        done = self.run_script(str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1].startswith(
            "CHAIN OK: 3 of 3 bundles valid, covering")

    def test_tampered_chain_exits_1_naming_bundle_and_file(self, tmp_path):
        paths = make_chain(tmp_path)
        flip_a_byte(os.path.join(paths[0], "audit_log.jsonl"))
        done = self.run_script(str(tmp_path), "--json")
        assert done.returncode == 1
        result = json.loads(done.stdout)
        assert result["first_broken"]["bundle"] == paths[0]
        assert result["first_broken"]["file"] == "audit_log.jsonl"
        text = self.run_script(str(tmp_path)).stdout
        assert "first broken: bundle %s, file audit_log.jsonl" % paths[0] in text

    def test_bad_argument_exits_2(self, tmp_path):
        done = self.run_script(str(tmp_path / "nowhere"))
        assert done.returncode == 2 and "is not a directory" in done.stderr

    @pytest.mark.parametrize("path", [CHAIN_PY, INPUTS_PY, ATTEST_PY])
    def test_the_verifier_imports_only_the_standard_library(self, path):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module)
        # chain.py's one collection import is its sibling, loaded by path without the
        # collection (the script runs with -I -S above).
        sibling = "ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence"
        assert modules - {sibling} <= {"__future__", "datetime", "errno", "hashlib",
                                       "importlib.util", "json", "os", "re", "shutil",
                                       "stat", "subprocess", "sys", "tempfile"}
