# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an attacker puts in entries and what a second writer does: formula cells in the CSV,
hidden characters in the reports, one writer per dest, owner/group-only files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import canonical
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.lock import (
    BundleLocked,
    DirectoryLock,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import file_sha256
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.context import (
    reveal,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.html import h
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.markdown import md
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.run import (
    run_report,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_export import (  # noqa: E501
    FakeClient,
    export,
)

HOSTILE_CELLS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def hostile_entry(value):
    return {"id": "h1", "created_at": "2026-11-01T10:00:00Z", "action": value,
            "actor": {"id": "u1", "name": value, "type": "user"}, "method": "GET",
            "path": "/v1/x", "status_code": -1, "client_ip": "192.0.2.1", "user_agent": value}


class TestCsvFormulaCells:

    @pytest.mark.parametrize("value", HOSTILE_CELLS)
    def test_a_cell_that_starts_a_formula_gets_a_quote(self, value):
        row = dict(zip(canonical.CSV_COLUMNS, canonical.csv_row(hostile_entry(value))))
        for column in ("action", "actor.name", "user_agent"):
            assert row[column] == "'" + value

    def test_a_number_stays_a_number(self):
        row = dict(zip(canonical.CSV_COLUMNS, canonical.csv_row(hostile_entry("x"))))
        assert row["status_code"] == "-1"

    def test_harmless_text_is_unchanged(self):
        for value in ("vm.deleted", "a=b", "Mozilla/5.0", "x-1", " =1"):
            assert canonical.neutralise(value) == value

    def test_bundle_csv_is_neutralised_and_jsonl_exact(self, tmp_path):
        entries = [dict(hostile_entry(value), id="h%d" % n) for n, value in enumerate(HOSTILE_CELLS)]
        export(FakeClient(entries), tmp_path)
        with io.open(str(tmp_path / "audit_log.csv"), newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(r["user_agent"] for r in rows) == sorted("'" + v for v in HOSTILE_CELLS)
        with open(str(tmp_path / "audit_log.jsonl"), "rb") as handle:
            lines = [json.loads(line) for line in handle]
        assert sorted(e["user_agent"] for e in lines) == sorted(HOSTILE_CELLS)


class TestHiddenCharacters:

    @pytest.mark.parametrize("char", [u"\u202a", u"\u202e", u"\u2066", u"\u2069", u"\u200e",
                                      u"\u200f", u"\u061c", u"\u200b", u"\u200c", u"\u200d",
                                      u"\u2060", u"\ufeff", u"\u00ad", u"\U000e0041"])
    def test_each_is_shown_escaped(self, char):
        shown = reveal(u"a" + char + u"b")
        assert char not in shown
        code = ord(char)
        assert shown == u"a%sb" % (u"\\u%04x" % code if code <= 0xFFFF else u"\\U%08x" % code)

    def test_visible_text_and_a_backslash_are_unambiguous(self):
        assert reveal(u"Zoë 東京 vm.deleted") == u"Zoë 東京 vm.deleted"
        # A literal backslash-u typed in a field does not pass for an escape.
        assert reveal(u"vm.deleted\\u200b") == u"vm.deleted\\\\u200b"
        assert reveal(u"vm.deleted\u200b") == u"vm.deleted\\u200b"

    def test_html_and_markdown_show_the_escape(self):
        assert h(u"admin\u202egnp.exe") == u"admin\\u202egnp.exe"
        assert md(u"admin\u202egnp.exe") == u"admin\\\\u202egnp.exe"  # Markdown shows one \

    def test_counted_keys_are_told_apart_in_both_reports(self, tmp_path):
        base = make_entries(3)
        entries = [dict(base[0], action="vm.deleted"),
                   dict(base[1], action=u"vm.deleted\u200b"),
                   dict(base[2], actor=dict(base[2]["actor"], name=u"admin\u202egnp.exe"))]
        export(FakeClient(entries), tmp_path, format="jsonl")
        run_report(str(tmp_path))
        html = (tmp_path / "report.html").read_text(encoding="utf-8")
        markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
        for text, escape in ((html, u"\\u200b"), (markdown, u"\\\\u200b")):
            assert u"\u200b" not in text and u"\u202e" not in text
            assert u"vm.deleted" + escape in text
        assert u"admin\\u202egnp.exe" in html


def _hold_lock(dest, ready, release):
    with DirectoryLock(dest):
        ready.set()
        release.wait(30)


def _export_in_child(dest, queue):
    try:
        result = export(FakeClient(make_entries(300)), dest)
        queue.put(("ok", result["manifest_sha256"], result["files"]["audit_log.jsonl"]["sha256"]))
    except AuditLogError as err:
        queue.put(("error", str(err), None))


class TestOneWriter:

    def test_a_second_writer_fails_at_once_with_a_clear_message(self, tmp_path):
        context = multiprocessing.get_context("fork")
        ready, release = context.Event(), context.Event()
        holder = context.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
        holder.start()
        try:
            assert ready.wait(30)
            with pytest.raises(BundleLocked) as err:
                export(FakeClient(make_entries(3)), tmp_path)
            assert "another export is writing to %s" % tmp_path in str(err.value)
            assert not os.path.exists(str(tmp_path / "manifest.json"))
        finally:
            release.set()
            holder.join(30)
        # Once the holder is gone the export runs.
        assert export(FakeClient(make_entries(3)), tmp_path)["changed"] is True

    def test_concurrent_exports_report_what_is_on_disk(self, tmp_path):
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        workers = [context.Process(target=_export_in_child, args=(str(tmp_path), queue))
                   for dummy in range(2)]
        for worker in workers:
            worker.start()
        outcomes = [queue.get(timeout=60) for dummy in workers]
        for worker in workers:
            worker.join(30)
        succeeded = [o for o in outcomes if o[0] == "ok"]
        assert succeeded, outcomes
        for outcome in outcomes:
            if outcome[0] == "error":
                assert "another export is writing" in outcome[1]
        for _status, manifest_sha, jsonl_sha in succeeded:
            assert manifest_sha == file_sha256(str(tmp_path / "manifest.json"))
            assert jsonl_sha == file_sha256(str(tmp_path / "audit_log.jsonl"))


class TestFileModes:

    def test_bundle_and_report_are_owner_and_group_only(self, tmp_path):
        old = os.umask(0o022)
        try:
            dest = tmp_path / "bundle"
            export(FakeClient(make_entries(3)), dest)
            run_report(str(dest))
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o750
        for name in ("audit_log.jsonl", "audit_log.csv", "manifest.json", "SHA256SUMS",
                     "report.md", "report.html"):
            assert stat.S_IMODE(os.stat(str(dest / name)).st_mode) == 0o640, name

    def test_a_stricter_umask_still_applies(self, tmp_path):
        old = os.umask(0o077)
        try:
            export(FakeClient(make_entries(3)), tmp_path / "b")
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(str(tmp_path / "b" / "manifest.json")).st_mode) == 0o600
