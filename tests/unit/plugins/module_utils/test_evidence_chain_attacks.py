# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verified means untouched: what an attacker (or an unlucky user) can do to a chain of bundles,
and the verdict each gets. Every input gets a verdict, never an exception, a hang or a memory
blow-up; the offline script, the module and chain.py give the same one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.lock import (
    DirectoryLock,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    SCRIPT,
    make_chain,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_export import (  # noqa: E501
    FakeClient,
    export,
)

JSONL = "audit_log.jsonl"
# Only a safety net so that a verifier that hangs fails the test instead of the suite; an
# intact verifier answers in well under a second.
HANG_GUARD = 60


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def append_sum(bundle, name, data=None):
    """List ``name`` in the bundle's SHA256SUMS with the SHA-256 of ``data`` (or its bytes)."""
    digest = sha(data if data is not None else read(os.path.join(bundle, name)))
    with open(os.path.join(bundle, "SHA256SUMS"), "ab") as handle:
        handle.write(("%s  %s\n" % (digest, name)).encode("ascii"))


def rewrite_manifest(bundle, change):
    """Apply ``change`` to the parsed manifest, write it back and fix SHA256SUMS: what an
    attacker with write access to one bundle can do."""
    path = os.path.join(bundle, "manifest.json")
    manifest = json.loads(read(path).decode("utf-8"))
    data = change(manifest)
    if data is None:
        data = json.dumps(manifest).encode("utf-8")
    write(path, data)
    fix_sums(bundle)


def fix_sums(bundle):
    names = [name for name in sorted(os.listdir(bundle))
             if name not in ("SHA256SUMS", ".audit_log.lock")]
    write(os.path.join(bundle, "SHA256SUMS"),
          "".join("%s  %s\n" % (sha(read(os.path.join(bundle, n))), n) for n in names)
          .encode("ascii"))


def verdict(paths, **kwargs):
    return chain.verify_chain(paths, **kwargs)


def run_script(*args):
    return subprocess.run([sys.executable, "-I", "-S", SCRIPT] + list(args), capture_output=True,
                          text=True, check=False, timeout=HANG_GUARD)


class TestSumsListExactlyTheManifestsFiles:

    def test_a_fabricated_file_listed_in_sums_fails_naming_it(self, tmp_path):
        paths = make_chain(tmp_path)
        fake = os.path.join(paths[1], "audit_log_extra.jsonl")
        write(fake, b'{"id": "forged"}\n')
        append_sum(paths[1], "audit_log_extra.jsonl")
        result = verdict([str(tmp_path)])
        assert result["ok"] is False
        assert result["first_broken"] == {
            "bundle": paths[1], "file": "audit_log_extra.jsonl",
            "problem": "SHA256SUMS lists audit_log_extra.jsonl, which manifest.json does not"
                       " list: it is not part of the export"}

    def test_a_file_of_the_manifest_missing_from_sums_fails(self, tmp_path):
        paths = make_chain(tmp_path)
        sums_path = os.path.join(paths[2], "SHA256SUMS")
        write(sums_path, b"".join(line for line in read(sums_path).splitlines(True)
                                  if not line.endswith(b" audit_log.csv\n")))
        result = verdict(paths)
        assert result["bundles"][0]["problems"] == [
            "SHA256SUMS does not cover audit_log.csv, which manifest.json lists"]

    def test_a_name_listed_twice_fails(self, tmp_path):
        paths = make_chain(tmp_path)
        append_sum(paths[0], JSONL)
        result = verdict(paths)
        assert result["first_broken"]["bundle"] == paths[0]
        assert result["first_broken"]["file"] == "SHA256SUMS"
        assert result["first_broken"]["problem"].startswith("SHA256SUMS lists audit_log.jsonl"
                                                            " twice (lines ")

    def test_an_unlisted_file_in_the_bundle_fails_naming_it(self, tmp_path):
        paths = make_chain(tmp_path)
        write(os.path.join(paths[0], "audit_log.2.jsonl"), b'{"id": "planted"}\n')
        result = verdict(paths)
        assert result["ok"] is False
        assert result["bundles"][-1]["bad_files"] == ["audit_log.2.jsonl"]
        assert result["bundles"][-1]["problems"][0].startswith(
            "audit_log.2.jsonl is in the bundle directory but in neither SHA256SUMS nor"
            " manifest.json")

    def test_reports_lock_and_parts_are_not_evidence_and_do_not_fail(self, tmp_path):
        paths = make_chain(tmp_path, (("2026-09-01", "2026-10-01"),))
        for name in ("report.md", "report.html"):
            write(os.path.join(paths[0], name), b"a report")
        part = ".audit_log.jsonl.99999999.abc123.part"
        write(os.path.join(paths[0], part), b"half")
        result = verdict(paths)
        assert result["ok"] is True
        assert os.path.exists(os.path.join(paths[0], ".audit_log.lock"))
        assert result["bundles"][0]["notes"] == [
            "%s is a temporary file of an export or report that runs or was interrupted; it is"
            " not evidence" % part]

    @pytest.mark.parametrize("name", [JSONL, "manifest.json", "SHA256SUMS"])
    def test_a_symbolic_link_fails_even_to_identical_bytes(self, tmp_path, name):
        paths = make_chain(tmp_path, (("2026-09-01", "2026-10-01"),))
        path = os.path.join(paths[0], name)
        copy = str(tmp_path / ("elsewhere-" + name))
        os.rename(path, copy)
        os.symlink(copy, path)
        result = verdict(paths)
        assert result["ok"] is False
        assert "%s is a symbolic link; a bundle's files must be regular files" % name \
            in result["bundles"][0]["problems"]
        assert name in result["bundles"][0]["bad_files"]


class TestEveryInputGetsAVerdict:

    @pytest.mark.parametrize("manifest", [
        {"files": ["audit_log.jsonl"]},
        {"files": {JSONL: "not an object"}},
        {"files": {JSONL: {"sha256": 5}}},
        {"files": {"../../etc/passwd": {"sha256": "0" * 64}}},
        {"window": "2026"},
        {"window": {"since": 5, "until": []}},
        {"window": {"since": "2026-13-45T00:00:00Z", "until": "2026-02-30T25:00:00Z"}},
        {"window": {"since": "0001-01-01T00:00:00+01:00"}},
        {"previous": "abc"},
        {"previous": {"manifest_sha256": ["x"]}},
        {"previous": {"manifest_sha256": "0" * 64, "verified": "yes"}},
        [1, 2, 3],
        "a string",
    ], ids=lambda value: json.dumps(value)[:40])
    def test_a_crafted_manifest_fails_with_a_sentence(self, tmp_path, manifest):
        paths = make_chain(tmp_path, PERIODS_2)

        def crafted(current):
            if isinstance(manifest, dict):
                current.update(manifest)
                return None
            return json.dumps(manifest).encode("utf-8")

        rewrite_manifest(paths[1], crafted)
        result = verdict(paths)
        assert result["ok"] is False
        newest = result["bundles"][0] if result["bundles"][0]["path"] == paths[1] else \
            result["bundles"][1]
        assert newest["verdict"] == "failed" and "manifest.json" in newest["bad_files"]
        assert all(isinstance(problem, str) for problem in newest["problems"])

    def test_deeply_nested_json_is_not_a_recursion_error(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS_2)
        rewrite_manifest(paths[1], lambda _m: b"[" * 200000 + b"]" * 200000)
        result = verdict(paths)
        assert "manifest.json is not a JSON object" in result["bundles"][0]["problems"]

    def test_a_huge_manifest_is_refused_unread(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS_2)
        rewrite_manifest(paths[1], lambda _m: b" " * (chain.MAX_MANIFEST_BYTES + 1) + b"{}")
        result = verdict(paths)
        assert result["bundles"][0]["problems"][0] == (
            "manifest.json is larger than %d bytes, far more than any the export writes"
            % chain.MAX_MANIFEST_BYTES)

    @pytest.mark.parametrize("name", ["SHA256SUMS", JSONL])
    def test_a_link_to_dev_zero_is_refused_not_read(self, tmp_path, name):
        paths = make_chain(tmp_path, PERIODS_2)
        os.unlink(os.path.join(paths[1], name))
        os.symlink("/dev/zero", os.path.join(paths[1], name))
        done = run_script(str(tmp_path), "--json")
        assert done.returncode == 1, done.stderr
        problems = json.loads(done.stdout)["bundles"][0]["problems"]
        assert "%s is a symbolic link; a bundle's files must be regular files" % name in problems

    @pytest.mark.parametrize("name", ["manifest.json", "SHA256SUMS", JSONL])
    def test_a_fifo_is_refused_without_hanging(self, tmp_path, name):
        paths = make_chain(tmp_path, PERIODS_2)
        os.unlink(os.path.join(paths[1], name))
        os.mkfifo(os.path.join(paths[1], name))
        done = run_script(str(tmp_path), "--json")
        assert done.returncode == 1, done.stderr
        problems = json.loads(done.stdout)["bundles"][0]["problems"]
        assert "%s is not a regular file (it is a FIFO)" % name in problems

    def test_a_directory_in_place_of_a_data_file_is_refused(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS_2)
        os.unlink(os.path.join(paths[1], JSONL))
        os.mkdir(os.path.join(paths[1], JSONL))
        result = verdict(paths)
        assert "%s is not a regular file (it is a directory)" % JSONL \
            in result["bundles"][0]["problems"]

    def test_non_utf8_sums_is_a_verdict(self, tmp_path):
        paths = make_chain(tmp_path, PERIODS_2)
        write(os.path.join(paths[1], "SHA256SUMS"), b"\xff\xfe\x00")
        assert verdict(paths)["bundles"][0]["problems"][0] == "SHA256SUMS is not UTF-8 text"


PERIODS_2 = (("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01"))


class TestAnchorAndPeriod:

    def rewrite_newest(self, paths):
        """Export the newest period again with other entries, linked as before: every file,
        the manifest and SHA256SUMS agree, and the link to the older bundle still matches."""
        export(FakeClient(make_entries(4, seed=7)), paths[-1], since="2026-11-01",
               until="2026-12-01", previous=paths[-2])

    def test_a_consistently_rewritten_newest_bundle_passes_without_an_anchor(self, tmp_path):
        paths = make_chain(tmp_path)
        self.rewrite_newest(paths)
        assert verdict(paths)["ok"] is True  # what an anchor is for

    def test_the_anchor_catches_a_rewritten_newest_bundle(self, tmp_path):
        paths = make_chain(tmp_path)
        anchor = chain.file_sha256(os.path.join(paths[-1], "manifest.json"))
        assert verdict(paths, anchor=anchor.upper())["ok"] is True
        self.rewrite_newest(paths)
        result = verdict(paths, anchor=anchor)
        assert result["ok"] is False
        assert result["anchor"] == {"sha256": anchor, "bundle": None, "ok": False}
        assert result["first_broken"]["bundle"] == paths[-1]
        assert result["first_broken"]["file"] == "manifest.json"
        assert result["first_broken"]["problem"].startswith(
            "anchor: its manifest.json has SHA-256 %s, not the anchor %s"
            % (chain.file_sha256(os.path.join(paths[-1], "manifest.json")), anchor))

    def test_an_anchor_of_an_older_bundle_leaves_newer_ones_unpinned(self, tmp_path):
        paths = make_chain(tmp_path)
        anchor = chain.file_sha256(os.path.join(paths[1], "manifest.json"))
        result = verdict(paths, anchor=anchor)
        assert result["ok"] is False and result["anchor"]["bundle"] == paths[1]
        assert "the 1 newer bundle(s) are not pinned by it" in result["first_broken"]["problem"]

    def test_a_dropped_newest_bundle_is_a_missing_head(self, tmp_path):
        paths = make_chain(tmp_path)
        result = verdict(paths[:2], since="2026-09-01T00:00:00Z", until="2026-12-01T00:00:00Z")
        assert result["ok"] is False
        assert result["missing_head"] == {"from": "2026-11-01T00:00:00Z",
                                          "to": "2026-12-01T00:00:00Z", "bundle": paths[1]}
        assert result["first_broken"] == {
            "bundle": paths[1], "file": None,
            "problem": "missing head: no bundle covers 2026-11-01T00:00:00Z to"
                       " 2026-12-01T00:00:00Z (the newest bundle ends at 2026-11-01T00:00:00Z)"}
        assert [b["verdict"] for b in result["bundles"]] == ["ok", "ok"]
        assert result["summary"].startswith(
            "2 of 2 bundles valid, covering 2026-09-01T00:00:00Z to 2026-11-01T00:00:00Z;"
            " first broken: ")

    def test_a_dropped_oldest_bundle_is_a_missing_tail(self, tmp_path):
        paths = make_chain(tmp_path)
        assert verdict(paths[1:])["ok"] is True  # linked outside: fine without since
        result = verdict(paths[1:], since="2026-09-01T00:00:00Z")
        assert result["ok"] is False and result["missing_head"] is None
        assert result["missing_tail"] == {"from": "2026-09-01T00:00:00Z",
                                          "to": "2026-10-01T00:00:00Z", "bundle": paths[1]}
        assert result["first_broken"]["problem"].startswith("missing tail: no bundle covers")

    def test_the_whole_period_covered_verifies_and_says_so(self, tmp_path):
        paths = make_chain(tmp_path)
        anchor = chain.file_sha256(os.path.join(paths[-1], "manifest.json"))
        result = verdict(paths, anchor=anchor, since="2026-09-15T00:00:00Z",
                         until="2026-12-01T00:00:00Z")
        assert result["ok"] is True and result["valid"] == result["total"] == 3
        assert result["summary"] == (
            "3 of 3 bundles valid, covering 2026-09-01T00:00:00Z to 2026-12-01T00:00:00Z; every"
            " file matches its SHA256SUMS and manifest.json, every link matches, no gap or"
            " overlap; the newest manifest.json matches the anchor; the requested period"
            " 2026-09-15T00:00:00Z to 2026-12-01T00:00:00Z is covered")

    @pytest.mark.parametrize("kwargs, message", [
        ({"anchor": "abc"}, "anchor: 'abc' is not a SHA-256 (64 hexadecimal digits)"),
        ({"since": "yesterday"}, "since: 'yesterday' is not an RFC 3339 instant"),
        ({"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
         "until (2026-11-01T00:00:00Z) is not after since (2026-12-01T00:00:00Z)"),
    ])
    def test_bad_arguments_are_value_errors(self, tmp_path, kwargs, message):
        paths = make_chain(tmp_path, PERIODS_2)
        with pytest.raises(ValueError) as err:
            verdict(paths, **kwargs)
        assert str(err.value) == message


class TestTheScript:

    def test_flags_and_exit_codes(self, tmp_path):
        paths = make_chain(tmp_path)
        anchor = chain.file_sha256(os.path.join(paths[-1], "manifest.json"))
        done = run_script(str(tmp_path), "--anchor", anchor, "--since", "2026-09-01",
                          "--until", "2026-12-01T00:00:00Z")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[-2] == "anchor %s: matches the newest manifest" % anchor
        done = run_script(paths[0], paths[1], "--until", "2026-12-01")
        assert done.returncode == 1
        assert done.stdout.splitlines()[0] == (
            "MISSING HEAD  missing head: no bundle covers 2026-11-01T00:00:00Z to"
            " 2026-12-01T00:00:00Z (the newest bundle ends at 2026-11-01T00:00:00Z)")
        assert done.stdout.splitlines()[-1].startswith(
            "CHAIN BROKEN: 2 of 2 bundles valid, covering 2026-09-01T00:00:00Z to"
            " 2026-11-01T00:00:00Z; first broken: ")

    @pytest.mark.parametrize("args, message", [
        (["--anchor", "xyz"], "anchor: 'xyz' is not a SHA-256"),
        (["--since", "someday"], "--since: 'someday' is not a time"),
        (["--since", "2026-12-01", "--until", "2026-11-01"], "is not after since"),
    ])
    def test_bad_arguments_exit_2(self, tmp_path, args, message):
        make_chain(tmp_path, PERIODS_2)
        done = run_script(str(tmp_path), *args)
        assert done.returncode == 2 and message in done.stderr and done.stdout == ""


class TestLockFile:

    def test_a_symlinked_lock_is_refused_and_its_target_untouched(self, tmp_path):
        dest = tmp_path / "dest"
        dest.mkdir()
        target = tmp_path / "victim"
        os.symlink(str(target), str(dest / ".audit_log.lock"))
        with pytest.raises(AuditLogError) as err:
            export(FakeClient(make_entries(2)), dest, since="2026-09-01", until="2026-10-01")
        assert str(err.value) == (
            "%s is a symbolic link; the export's lock file must be a regular file. Remove it"
            " (nothing of the bundle is lost) and run the export again"
            % (dest / ".audit_log.lock"))
        assert not os.path.lexists(str(target))
        assert not os.path.exists(str(dest / "manifest.json"))

    def test_a_fifo_lock_is_refused(self, tmp_path):
        os.mkfifo(str(tmp_path / ".audit_log.lock"))
        with pytest.raises(AuditLogError) as err:
            DirectoryLock(str(tmp_path)).acquire()
        assert "is not a regular file" in str(err.value)

    def test_a_regular_lock_still_locks(self, tmp_path):
        with DirectoryLock(str(tmp_path)):
            assert os.path.isfile(str(tmp_path / ".audit_log.lock"))
