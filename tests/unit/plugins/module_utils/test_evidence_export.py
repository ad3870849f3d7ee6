# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One export run with the client faked at its boundary (``scan``): idempotence, check mode,
interruption, format changes, the manifest's content and the chain to a previous bundle."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import sums
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import parts as part_files
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
    ExportOptions,
    run_export,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    InvalidOption,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import FakeClient
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.signing_support import (  # noqa: E501
    tool_runner,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    expected_jsonl,
    make_entries,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
SINCE, UNTIL = "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"


def options(dest, **overrides):
    opts = dict((name, None) for group in (FILTER_OPTIONS, READ_OPTIONS) for name in group)
    opts.update(page_size=100, order="newest_first", since=SINCE, until=UNTIL, dest=str(dest),
                format="both", settle="5m", previous=None, base_url="http://127.0.0.1:9",
                timeout=60.0, validate_certs=True, ca_path=None, max_retries=2, use_proxy=True,
                api_key="nl-secret-never-written")
    opts.update(overrides)
    return opts


def export(client, dest, check_mode=False, now=NOW, **overrides):
    opts = options(dest, **overrides)
    query = Query.from_options(opts, now=now)
    return run_export(client, query, ExportOptions.from_params(opts), check_mode=check_mode,
                      now=lambda: now, version="9.9.9", run_size=64, runner=tool_runner())


def listing(path):
    """The files of a bundle directory, without the export's lock file (which stays)."""
    return sorted(name for name in os.listdir(str(path)) if name != ".audit_log.lock")


def read(path):
    with open(str(path), "rb") as handle:
        return handle.read()


@pytest.fixture
def entries():
    return make_entries(300)


class TestFirstRun:

    def test_bundle_files_manifest_and_sums(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        result = export(FakeClient(entries, report={"pages": 5}), dest)
        assert result["changed"] is True
        assert listing(dest) == ["SHA256SUMS", "audit_log.csv", "audit_log.jsonl",
                                 "manifest.json"]
        assert read(dest / "audit_log.jsonl") == expected_jsonl(entries, "newest_first")
        ok, problems, manifest = sums.verify_bundle(str(dest))
        assert ok, problems
        assert set(sums.parse_sums(read(dest / "SHA256SUMS"))) == {
            "audit_log.jsonl", "audit_log.csv", "manifest.json"}
        assert manifest["files"]["audit_log.jsonl"]["sha256"] == \
            result["files"]["audit_log.jsonl"]["sha256"]
        assert manifest["window"] == {"since": SINCE, "until": UNTIL, "since_inclusive": True,
                                      "until_exclusive": True}
        assert manifest["collection"] == {"name": "nirvana_labs.audit", "version": "9.9.9"}
        assert manifest["api"] == {"base_url": "http://127.0.0.1:9"}
        assert manifest["counts"]["written"] == 300 and manifest["counts"]["pages"] == 5
        assert manifest["completeness"]["status"] == "complete"
        assert manifest["finality"]["final"] is True
        assert manifest["run"]["started_at"] == "2026-11-28T12:00:00Z"
        assert "@" in manifest["run"]["by"]
        assert manifest["query"]["since"] == SINCE and "dest" not in manifest["query"]
        assert result["manifest_sha256"] == part_files.file_sha256(str(dest / "manifest.json"))

    def test_the_key_is_written_nowhere(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries), dest)
        for name in listing(dest):
            assert b"nl-secret-never-written" not in read(dest / name)

    def test_files_follow_the_umask_not_the_private_temp_mode(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        old = os.umask(0o027)
        try:
            export(FakeClient(entries), dest)
        finally:
            os.umask(old)
        assert os.stat(str(dest / "audit_log.jsonl")).st_mode & 0o777 == 0o640


class TestIdempotence:

    def test_second_run_over_a_past_window_changes_nothing(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries), dest)
        before = dict((name, read(dest / name)) for name in listing(dest))
        mtimes = dict((name, os.stat(str(dest / name)).st_mtime_ns) for name in listing(dest))
        later = NOW + datetime.timedelta(hours=3)
        result = export(FakeClient(list(reversed(entries))), dest, now=later)
        assert result["changed"] is False and result["changed_files"] == []
        assert dict((name, read(dest / name)) for name in listing(dest)) == before
        assert dict((n, os.stat(str(dest / n)).st_mtime_ns) for n in listing(dest)) == mtimes
        # The run reported is the one recorded with the bundle.
        assert result["run"]["started_at"] == "2026-11-28T12:00:00Z"

    def test_one_more_entry_rewrites_data_manifest_and_sums(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries[:-1]), dest)
        result = export(FakeClient(entries), dest)
        assert result["changed_files"] == ["SHA256SUMS", "audit_log.csv", "audit_log.jsonl",
                                           "manifest.json"]
        assert sums.verify_bundle(str(dest))[0]

    def test_tampered_data_file_is_restored(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries), dest)
        with open(str(dest / "audit_log.csv"), "ab") as handle:
            handle.write(b"forged,row\n")
        result = export(FakeClient(entries), dest)
        assert "audit_log.csv" in result["changed_files"]
        assert sums.verify_bundle(str(dest))[0]

    def test_window_becoming_final_rewrites_only_manifest_and_sums(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        early = datetime.datetime(2026, 11, 2, 0, 1, 0, tzinfo=UTC)
        first = export(FakeClient(entries), dest, now=early)
        assert first["final"] is False
        second = export(FakeClient(entries), dest, now=NOW)
        assert second["final"] is True
        assert second["changed_files"] == ["SHA256SUMS", "manifest.json"]

    def test_format_no_longer_asked_for_is_removed(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries), dest, format="both")
        result = export(FakeClient(entries), dest, format="jsonl")
        assert "audit_log.csv" in result["changed_files"]
        assert listing(dest) == ["SHA256SUMS", "audit_log.jsonl", "manifest.json"]
        assert sums.verify_bundle(str(dest))[0]

    def test_other_files_in_dest_are_left_alone(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        dest.mkdir()
        (dest / "report.md").write_bytes(b"mine")
        export(FakeClient(entries), dest)
        assert read(dest / "report.md") == b"mine"


class TestCheckMode:

    def test_first_run_in_check_mode_writes_nothing_and_says_what_would_change(
            self, tmp_path, entries):
        dest = tmp_path / "bundle"
        result = export(FakeClient(entries), dest, check_mode=True)
        assert result["changed"] is True
        assert result["changed_files"] == ["SHA256SUMS", "audit_log.csv", "audit_log.jsonl",
                                           "manifest.json"]
        assert not dest.exists()

    def test_check_mode_over_an_up_to_date_bundle_is_unchanged(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries), dest)
        before = dict((name, read(dest / name)) for name in listing(dest))
        assert export(FakeClient(entries), dest, check_mode=True)["changed"] is False
        changed = export(FakeClient(entries[1:]), dest, check_mode=True)
        assert changed["changed"] is True
        assert dict((name, read(dest / name)) for name in listing(dest)) == before


class TestInterruption:

    def test_failure_mid_stream_leaves_no_file_at_all(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        with pytest.raises(TransportError):
            export(FakeClient(entries, fail_after=150), dest)
        assert listing(dest) == []

    def test_failure_mid_stream_leaves_the_previous_bundle_intact(self, tmp_path, entries):
        dest = tmp_path / "bundle"
        export(FakeClient(entries[:100]), dest)
        before = dict((name, read(dest / name)) for name in listing(dest))
        shuffled = entries[::-1]  # forces the on-disk sort, so spill files existed too
        with pytest.raises(TransportError):
            export(FakeClient(shuffled, fail_after=250), dest)
        assert dict((name, read(dest / name)) for name in listing(dest)) == before
        assert sums.verify_bundle(str(dest))[0]


class TestJudgements:

    def test_window_ending_now_is_flagged_not_final(self, tmp_path, entries):
        result = export(FakeClient(entries), tmp_path / "b", until="2026-11-28T12:00:00Z")
        assert result["final"] is False
        assert result["finality"]["settles_at"] == "2026-11-28T12:05:00Z"

    def test_count_mismatch_is_flagged_in_result_and_manifest(self, tmp_path, entries):
        dest = tmp_path / "b"
        result = export(FakeClient(entries, report={"total_count": 301}), dest)
        assert result["complete"] is False and result["completeness"]["status"] == "mismatch"
        manifest = json.loads(read(dest / "manifest.json").decode("utf-8"))
        assert manifest["completeness"]["complete"] is False

    def test_bad_settle_and_dest_are_invalid_options(self, tmp_path, entries):
        with pytest.raises(InvalidOption) as err:
            export(FakeClient(entries), tmp_path / "b", settle="soon")
        assert err.value.option == "settle"
        afile = tmp_path / "file"
        afile.write_bytes(b"")
        with pytest.raises(InvalidOption) as err:
            export(FakeClient(entries), afile)
        assert err.value.option == "dest"

    def test_page_size_and_max_results_reach_the_scan(self, tmp_path, entries):
        client = FakeClient(entries)
        export(client, tmp_path / "b", page_size=50, max_results=7)
        assert [scan[1:3] for scan in client.scans] == [(50, 7)]


class TestChain:

    def test_previous_manifest_hash_and_contiguity_are_recorded(self, tmp_path, entries):
        october = tmp_path / "2026-11-01"
        first = export(FakeClient(entries[:100]), october, since="2026-10-31T00:00:00Z",
                       until=SINCE)
        november = tmp_path / "2026-11-02"
        second = export(FakeClient(entries[100:]), november, previous=str(october))
        assert second["previous"]["manifest_sha256"] == first["manifest_sha256"]
        assert second["previous"]["contiguous"] is True
        manifest = json.loads(read(november / "manifest.json").decode("utf-8"))
        assert manifest["previous"]["manifest_sha256"] == first["manifest_sha256"]

    def test_missing_previous_is_an_invalid_option_before_any_read(self, tmp_path, entries):
        client = FakeClient(entries)
        with pytest.raises(InvalidOption) as err:
            export(client, tmp_path / "b", previous=str(tmp_path / "nope"))
        assert err.value.option == "previous" and client.calls == []
