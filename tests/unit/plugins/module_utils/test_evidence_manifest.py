# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The manifest's judgements: completeness only when it means something, finality from
settle, the chain link to a previous bundle, and what counts as "the bundle changed"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import hashlib
import json

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import manifest as mf
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_duration
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import scan_report

UTC = datetime.timezone.utc


# a complete scan of 250 entries, 40 of them matching
report = functools.partial(scan_report, pages=3, scanned=250, matched=40, total_count=250)


class TestDuration:

    @pytest.mark.parametrize("text,seconds", [
        ("300", 300), (300, 300), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800),
        ("1w", 604800), ("0", 0), (" 5 m ", 300), ("1.5h", 5400)])
    def test_accepted_forms(self, text, seconds):
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["5 minutes", "-5m", "m", "", True, "5y"])
    def test_refused_forms_name_the_accepted_ones(self, text):
        with pytest.raises(ValueError) as err:
            parse_duration(text)
        assert "duration" in str(err.value)


class TestFinality:

    NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

    def test_window_ending_now_is_not_final(self):
        result = mf.finality("2026-11-28T12:00:00Z", self.NOW, 300)
        assert result["final"] is False
        assert result["settles_at"] == "2026-11-28T12:05:00Z"
        assert "can still arrive" in result["reason"]

    def test_window_ended_settle_ago_is_final(self):
        result = mf.finality("2026-11-28T11:55:00Z", self.NOW, 300)
        assert result["final"] is True

    def test_one_second_short_of_settle_is_not_final(self):
        assert mf.finality("2026-11-28T11:55:01Z", self.NOW, 300)["final"] is False

    def test_window_without_end_is_never_final(self):
        result = mf.finality(None, self.NOW, 0)
        assert result["final"] is False and result["settles_at"] is None


class TestCompleteness:

    def test_full_scan_whose_count_matches_is_complete(self):
        result = mf.completeness(report(), 40)
        assert result["status"] == mf.COMPLETE and result["complete"] is True
        # The 210 entries the client filtered out are explained, not taken for a loss.
        assert "210 of them were outside filters" in result["reason"]

    def test_count_disagreeing_is_a_mismatch_never_hidden(self):
        result = mf.completeness(report(total_count=251), 40)
        assert result["status"] == mf.MISMATCH and result["complete"] is False
        assert "251" in result["reason"] and "250" in result["reason"]

    def test_entry_repeated_at_a_page_boundary_is_not_a_mismatch(self):
        result = mf.completeness(report(scanned=251, duplicates=1), 40)
        assert result["status"] == mf.COMPLETE and result["received"] == 250

    def test_early_stop_is_not_comparable(self):
        result = mf.completeness(report(stopped_early=True, total_count=100000,
                                        stop_reason="reached an entry beyond since=X"), 40)
        assert result["status"] == mf.NOT_COMPARABLE and result["complete"] is None
        assert "reached an entry beyond since=X" in result["reason"]

    def test_truncated_is_incomplete(self):
        result = mf.completeness(report(truncated=True), 40)
        assert result["status"] == mf.TRUNCATED and result["complete"] is False

    def test_resumed_is_not_comparable(self):
        assert mf.completeness(report(resumed=True), 40)["status"] == mf.NOT_COMPARABLE

    def test_no_total_count_is_not_comparable(self):
        result = mf.completeness(report(total_count=None), 40)
        assert result["status"] == mf.NOT_COMPARABLE and result["complete"] is None


class TestPreviousLink:

    def write_bundle(self, path, since, until):
        """A minimal verifiable bundle: a manifest and SHA256SUMS covering it."""
        path.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"window": {"since": since, "until": until}}).encode("utf-8")
        (path / "manifest.json").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        (path / "SHA256SUMS").write_text("%s  manifest.json\n" % digest)
        return digest

    def test_link_from_directory_is_contiguous_and_verified(self, tmp_path):
        digest = self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
        link = mf.previous_link(str(tmp_path), "2026-11-01T00:00:00Z")
        assert link == {"manifest_sha256": digest, "contiguous": True, "verified": True,
                        "window": {"since": "2026-10-01T00:00:00Z",
                                   "until": "2026-11-01T00:00:00Z"}}

    def test_a_gap_is_refused_naming_both_windows_and_allow_gap(self, tmp_path):
        self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", "2026-10-18T00:00:00Z")
        with pytest.raises(ValueError) as err:
            mf.previous_link(str(tmp_path / "manifest.json"), "2026-11-01T00:00:00Z")
        message = str(err.value)
        assert "2026-10-18T00:00:00Z to 2026-11-01T00:00:00Z" in message
        assert "a gap" in message and "allow_gap=true" in message and str(tmp_path) in message

    def test_an_accepted_gap_is_recorded_in_the_link(self, tmp_path):
        self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", "2026-10-18T00:00:00Z")
        link = mf.previous_link(str(tmp_path / "manifest.json"), "2026-11-01T00:00:00Z",
                                allow_gap=True)
        assert link["contiguous"] is False
        assert link["gap"] == {"since": "2026-10-18T00:00:00Z",
                               "until": "2026-11-01T00:00:00Z", "accepted": True}

    @pytest.mark.parametrize("until, since, words", [
        ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "an overlap"),
        (None, "2026-11-01T00:00:00Z", "both bounds"),
        ("2026-11-01T00:00:00Z", None, "both bounds"),
    ])
    def test_an_overlap_or_an_open_bound_is_refused_even_with_allow_gap(
            self, tmp_path, until, since, words):
        self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", until)
        with pytest.raises(ValueError) as err:
            mf.previous_link(str(tmp_path), since, allow_gap=True)
        assert words in str(err.value)

    def test_missing_manifest_says_to_omit_previous_for_a_first_period(self, tmp_path):
        with pytest.raises(ValueError) as err:
            mf.previous_link(str(tmp_path / "2026-10"), None)
        assert "omit previous" in str(err.value)
        assert str(tmp_path / "2026-10" / "manifest.json") in str(err.value)

    def test_not_an_object_is_refused(self, tmp_path):
        (tmp_path / "manifest.json").write_bytes(b"[1]")
        with pytest.raises(ValueError):
            mf.previous_link(str(tmp_path), None, unverified="link")

    def test_a_previous_bundle_that_fails_verification_is_refused_naming_bundle_and_file(
            self, tmp_path):
        self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
        (tmp_path / "manifest.json").write_bytes(b'{"window": {}}')
        with pytest.raises(ValueError) as err:
            mf.previous_link(str(tmp_path), "2026-11-01T00:00:00Z")
        message = str(err.value)
        assert str(tmp_path) in message
        assert "manifest.json does not match its SHA-256 in SHA256SUMS" in message
        assert "previous_unverified=link" in message

    def test_link_anyway_records_unverified_and_the_problems(self, tmp_path):
        self.write_bundle(tmp_path, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
        (tmp_path / "SHA256SUMS").unlink()
        link = mf.previous_link(str(tmp_path), "2026-11-01T00:00:00Z", unverified="link")
        assert link["verified"] is False
        assert link["problems"] == ["SHA256SUMS is missing"]
        assert link["contiguous"] is True


class TestManifestBytes:

    def test_stable_view_ignores_only_the_run(self):
        one = {"files": {"a": 1}, "run": {"started_at": "x"}}
        two = {"files": {"a": 1}, "run": {"started_at": "y"}}
        assert mf.stable_view(one) == mf.stable_view(two)
        assert mf.stable_view(one) != mf.stable_view({"files": {"a": 2}, "run": {}})

    def test_bytes_are_sorted_indented_and_end_with_a_newline(self):
        data = mf.manifest_bytes({"b": 1, "a": u"é"})
        assert data == u'{\n  "a": "é",\n  "b": 1\n}\n'.encode("utf-8")

    def test_run_by_is_user_at_host(self):
        assert "@" in mf.run_by()
