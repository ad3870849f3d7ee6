# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bundle writing: canonical bytes, canonical order whatever the arrival order, dedupe,
CSV flattening, part files that never look complete, SHA256SUMS a stock tool accepts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import hashlib
import io
import json
import os
import random
import shutil
import subprocess

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import sort_key
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import (
    canonical,
    names,
    sums,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import parts as part_files
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import writer as streaming


def make_entries(count, seed=1, same_second=3):
    """Entries with colliding timestamps (several per second) so ids decide ties."""
    rng = random.Random(seed)
    entries = []
    for index in range(count):
        second = index // same_second
        entry = {
            "id": "%08x-%04d" % (rng.getrandbits(32), index),
            "created_at": "2026-11-01T%02d:%02d:%02dZ" % (second // 3600 % 24, second // 60 % 60,
                                                          second % 60),
            "action": rng.choice(["vm.created", "vm.deleted", "api_key.created"]),
            "actor": {"id": "u%d" % rng.randint(1, 5), "name": rng.choice(["Ann", None]),
                      "type": rng.choice(["user", "api_key"])},
            "client_ip": "203.0.113.%d" % rng.randint(1, 254),
            "method": "POST",
            "path": "/v1/compute/vms",
            "status_code": rng.choice([200, 201, 404, 500]),
            "user_agent": "ünïcode-agent/1.0",
        }
        if index % 4:
            entry["target"] = {"id": "t%d" % index, "type": "vm"} if index % 4 != 1 else None
        entries.append(entry)
    return entries


def expected_jsonl(entries, order):
    keyed = sorted(((sort_key(e, order == "newest_first"), canonical.canonical_line(e))
                    for e in entries), reverse=(order == "newest_first"))
    return b"".join(line for _key, line in keyed)


def write(tmp_path, entries, order="newest_first", formats="both", run_size=streaming.RUN_SIZE):
    writer = streaming.BundleWriter(str(tmp_path), order=order, formats=formats, run_size=run_size)
    for entry in entries:
        writer.add(entry)
    parts = writer.finish()
    return writer, parts


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


class TestCanonical:

    def test_line_has_sorted_keys_compact_separators_utf8_and_one_newline(self):
        line = canonical.canonical_line({"b": 1, "a": {"d": None, "c": "é"}})
        assert line == u'{"a":{"c":"é","d":null},"b":1}\n'.encode("utf-8")

    def test_same_entry_same_bytes_whatever_the_key_order(self):
        first = {"id": "x", "actor": {"type": "user", "id": "u"}, "status_code": 200}
        second = {"status_code": 200, "actor": {"id": "u", "type": "user"}, "id": "x"}
        assert canonical.canonical_line(first) == canonical.canonical_line(second)

    def test_a_newline_inside_a_value_cannot_split_the_line(self):
        line = canonical.canonical_line({"user_agent": "evil\nagent"})
        assert line.count(b"\n") == 1


class TestCsvRow:

    def row(self, entry):
        return dict(zip(canonical.CSV_COLUMNS, canonical.csv_row(entry)))

    def test_every_contract_field_is_a_column(self):
        entry = make_entries(3)[2]
        row = self.row(entry)
        assert row["actor.id"] == entry["actor"]["id"]
        assert row["actor.type"] == entry["actor"]["type"]
        assert row["target.id"] == entry["target"]["id"]
        assert row["target.type"] == "vm"
        assert row["status_code"] == str(entry["status_code"])
        assert row["extra"] == ""

    def test_null_and_absent_target_and_null_name_are_empty_cells(self):
        row = self.row({"id": "a", "actor": {"id": "k", "name": None, "type": "api_key"},
                        "target": None})
        assert row["actor.name"] == "" and row["target.id"] == "" and row["target.type"] == ""
        assert self.row({"id": "a"})["target.id"] == ""

    def test_unknown_fields_go_to_extra_as_canonical_json(self):
        row = self.row({"id": "a", "zone": "eu-1", "region": {"b": 2, "a": 1},
                        "actor": {"id": "u", "email": "x@example.com"},
                        "target": {"id": "t", "type": "vm", "project": "p"}})
        assert json.loads(row["extra"]) == {
            "zone": "eu-1", "region": {"a": 1, "b": 2},
            "actor": {"email": "x@example.com"}, "target": {"project": "p"}}
        assert row["extra"] == canonical.canonical_json(json.loads(row["extra"]))
        assert row["actor.id"] == "u" and row["target.type"] == "vm"

    def test_a_target_that_is_not_an_object_is_kept_whole_in_extra(self):
        row = self.row({"id": "a", "target": "vm-1"})
        assert row["target.id"] == "" and json.loads(row["extra"]) == {"target": "vm-1"}


class TestWriterInOrder:

    @pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
    def test_sorted_stream_is_written_as_is_in_one_pass(self, tmp_path, order):
        entries = make_entries(500)
        ordered = sorted(entries, key=lambda e: sort_key(e, order == "newest_first"),
                         reverse=(order == "newest_first"))
        writer, parts = write(tmp_path, ordered, order=order, formats="jsonl")
        data = read(parts[names.JSONL_NAME].path)
        assert data == expected_jsonl(entries, order)
        assert not writer.client_sorted
        assert writer.written == 500 and parts[names.JSONL_NAME].lines == 500
        assert parts[names.JSONL_NAME].sha256 == hashlib.sha256(data).hexdigest()
        assert parts[names.JSONL_NAME].size == len(data)

    def test_repeated_entry_is_written_once_and_a_conflicting_one_counted(self, tmp_path):
        entries = sorted(make_entries(50), key=lambda e: sort_key(e, True), reverse=True)
        changed = dict(entries[10], status_code=999)
        stream = entries[:11] + [entries[10], changed] + entries[11:]
        writer, parts = write(tmp_path, stream, formats="jsonl")
        assert read(parts[names.JSONL_NAME].path) == expected_jsonl(entries, "newest_first")
        assert writer.duplicates == 2 and writer.conflicts == 1
        assert writer.received == 52 and writer.written == 50


class TestWriterOutOfOrder:

    @pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
    def test_any_arrival_order_gives_the_same_bytes(self, tmp_path, order):
        entries = make_entries(1000)
        reference = expected_jsonl(entries, order)
        for seed in (1, 2):
            shuffled = list(entries)
            random.Random(seed).shuffle(shuffled)
            work = tmp_path / ("w%d" % seed)
            work.mkdir()
            writer, parts = write(work, shuffled, order=order, formats="both", run_size=64)
            assert writer.client_sorted
            assert read(parts[names.JSONL_NAME].path) == reference
            assert writer.written == 1000

    def test_server_order_reversed_still_canonical(self, tmp_path):
        entries = sorted(make_entries(300), key=lambda e: sort_key(e, False))
        writer, parts = write(tmp_path, entries, order="newest_first", run_size=50)
        assert read(parts[names.JSONL_NAME].path) == expected_jsonl(entries, "newest_first")

    def test_duplicates_far_apart_are_dropped_in_the_merge(self, tmp_path):
        entries = make_entries(400)
        stream = list(entries)
        random.Random(5).shuffle(stream)
        stream = stream + entries[:30]
        writer, parts = write(tmp_path, stream, run_size=40)
        assert read(parts[names.JSONL_NAME].path) == expected_jsonl(entries, "newest_first")
        assert writer.duplicates == 30 and writer.written == 400

    def test_many_runs_are_merged_in_rounds(self, tmp_path, monkeypatch):
        monkeypatch.setattr(streaming, "MAX_FAN_IN", 3)
        entries = make_entries(600)
        shuffled = list(entries)
        random.Random(9).shuffle(shuffled)
        writer, parts = write(tmp_path, shuffled, run_size=20)
        assert read(parts[names.JSONL_NAME].path) == expected_jsonl(entries, "newest_first")
        # Nothing of the sort is left behind but the finished parts.
        left = sorted(os.listdir(str(tmp_path)))
        assert len(left) == 2 and all(name.endswith(".part") for name in left)

    def test_entries_without_a_time_come_last_in_both_orders(self, tmp_path):
        untimed = [{"id": "zz-untimed"}, {"id": "aa-untimed", "created_at": "garbage"}]
        entries = make_entries(20) + untimed
        for order in ("newest_first", "oldest_first"):
            work = tmp_path / order
            work.mkdir()
            shuffled = list(entries)
            random.Random(2).shuffle(shuffled)
            _writer, parts = write(work, shuffled, order=order, formats="jsonl", run_size=8)
            lines = read(parts[names.JSONL_NAME].path).splitlines()
            tail_ids = [json.loads(line)["id"] for line in lines[-2:]]
            assert sorted(tail_ids) == ["aa-untimed", "zz-untimed"]


class TestWriterCsv:

    def test_csv_has_a_header_and_one_row_per_entry_in_jsonl_order(self, tmp_path):
        entries = make_entries(200)
        shuffled = list(entries)
        random.Random(4).shuffle(shuffled)
        _writer, parts = write(tmp_path, shuffled, formats="both", run_size=30)
        with io.open(parts[names.CSV_NAME].path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        jsonl = [json.loads(line) for line in read(parts[names.JSONL_NAME].path).splitlines()]
        assert [row["id"] for row in rows] == [entry["id"] for entry in jsonl]
        assert parts[names.CSV_NAME].lines == 200
        assert rows[0]["user_agent"] == u"ünïcode-agent/1.0"

    def test_csv_only_leaves_no_jsonl_part(self, tmp_path):
        _writer, parts = write(tmp_path, make_entries(10), formats="csv")
        assert list(parts) == [names.CSV_NAME]
        assert os.listdir(str(tmp_path)) == [os.path.basename(parts[names.CSV_NAME].path)]


class TestParts:

    def test_abort_removes_every_part_and_spill_file(self, tmp_path):
        writer = streaming.BundleWriter(str(tmp_path), formats="both", run_size=10)
        entries = make_entries(100)
        random.Random(1).shuffle(entries)
        for entry in entries:
            writer.add(entry)
        assert os.listdir(str(tmp_path))
        writer.abort()
        assert os.listdir(str(tmp_path)) == []

    def test_parts_are_hidden_and_never_named_like_a_bundle_file(self, tmp_path):
        writer = streaming.BundleWriter(str(tmp_path), formats="both")
        writer.add(make_entries(1)[0])
        for name in os.listdir(str(tmp_path)):
            assert name.startswith(".") and name.endswith(".part")
            assert name not in (names.JSONL_NAME, names.CSV_NAME)
        writer.abort()

    def test_stale_parts_of_dead_processes_are_removed_and_live_ones_kept(self, tmp_path):
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = tmp_path / (".audit_log.jsonl.%d.abc123.part" % dead.pid)
        stale.write_bytes(b"half")
        spill = tmp_path / (".spill.%d.x1.part" % dead.pid)
        spill.mkdir()
        (spill / "run-000000").write_bytes(b"x")
        live = tmp_path / (".audit_log.jsonl.%d.def456.part" % os.getpid())
        live.write_bytes(b"mine")
        other = tmp_path / "notes.txt"
        other.write_bytes(b"keep")
        removed = part_files.remove_stale_parts(str(tmp_path))
        assert sorted(removed) == sorted([stale.name, spill.name])
        assert sorted(os.listdir(str(tmp_path))) == sorted([live.name, other.name])


class TestSums:

    def make_bundle(self, tmp_path):
        _writer, parts = write(tmp_path, make_entries(30), formats="both")
        hashes = {}
        for name, part in parts.items():
            os.rename(part.path, str(tmp_path / name))
            hashes[name] = part.sha256
        (tmp_path / names.MANIFEST_NAME).write_bytes(
            json.dumps({"files": dict((n, {"sha256": h}) for n, h in hashes.items())}).encode())
        hashes[names.MANIFEST_NAME] = part_files.file_sha256(str(tmp_path / names.MANIFEST_NAME))
        (tmp_path / names.SUMS_NAME).write_bytes(sums.sums_text(hashes))
        return hashes

    def test_sums_round_trip(self, tmp_path):
        hashes = self.make_bundle(tmp_path)
        assert sums.parse_sums(read(str(tmp_path / names.SUMS_NAME))) == hashes

    @pytest.mark.skipif(not shutil.which("sha256sum"), reason="coreutils sha256sum not installed")
    def test_stock_sha256sum_accepts_it_and_catches_one_changed_byte(self, tmp_path):
        self.make_bundle(tmp_path)
        check = ["sha256sum", "--check", "--strict", names.SUMS_NAME]
        assert subprocess.call(check, cwd=str(tmp_path)) == 0
        path = tmp_path / names.CSV_NAME
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        assert subprocess.call(check, cwd=str(tmp_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) == 1

    def test_verify_bundle_names_the_altered_file(self, tmp_path):
        self.make_bundle(tmp_path)
        assert sums.verify_bundle(str(tmp_path))[0]
        with open(str(tmp_path / names.JSONL_NAME), "ab") as handle:
            handle.write(b"{}\n")
        ok, problems, _manifest = sums.verify_bundle(str(tmp_path))
        assert not ok
        assert problems == ["%s does not match its SHA-256 in %s"
                            % (names.JSONL_NAME, names.SUMS_NAME)]

    def test_verify_bundle_refuses_a_name_outside_the_bundle(self, tmp_path):
        self.make_bundle(tmp_path)
        with open(str(tmp_path / names.SUMS_NAME), "ab") as handle:
            handle.write(b"%s  ../etc/passwd\n" % (b"0" * 64))
        ok, problems, _manifest = sums.verify_bundle(str(tmp_path))
        assert not ok and "outside the bundle" in problems[0]

    def test_malformed_sums_line_is_an_error(self):
        with pytest.raises(ValueError):
            sums.parse_sums(b"not a sum line\n")
