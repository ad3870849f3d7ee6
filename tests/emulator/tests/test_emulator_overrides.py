# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""--entry-overrides: hostile values served in chosen entries, everywhere an entry is served."""

import json

import pytest

from audit_emulator import overrides
from audit_emulator.data import Dataset
from emulator_testlib import NOW, Client
from launcher import EmulatorError, EmulatorProcess

HOSTILE = [
    {"index": 0, "user_agent": "=HYPERLINK(\"http://evil\",\"x\")", "actor": {"name": "+cmd"}},
    {"index": 2, "action": u"vm.deleted\u200b", "actor": {"name": u"admin\u202egnp.exe"}},
]


def write_jsonl(path, items):
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return str(path)


def test_overrides_replace_fields_and_merge_actor():
    plain = Dataset(seed=1, entries=5, now=NOW)
    ds = Dataset(seed=1, entries=5, now=NOW, overrides={0: {"user_agent": "=1", "actor": {"name": "@x"}}})
    entry, generated = ds.entry(0), plain.entry(0)
    assert entry["user_agent"] == "=1" and entry["actor"]["name"] == "@x"
    assert entry["actor"]["id"] == generated["actor"]["id"]
    assert ds.entry(1) == plain.entry(1)
    assert ds.get(entry["id"]) == entry


def test_load_refuses_bad_lines(tmp_path):
    with pytest.raises(ValueError, match="needs an \"index\""):
        overrides.load(write_jsonl(tmp_path / "a", [{"index": 9}]), 5)
    with pytest.raises(ValueError, match="created_at cannot be overridden"):
        overrides.load(write_jsonl(tmp_path / "b", [{"index": 1, "created_at": "x"}]), 5)


def test_served_by_the_api(tmp_path):
    path = write_jsonl(tmp_path / "hostile.jsonl", HOSTILE)
    with EmulatorProcess(["--entries", "5", "--now", NOW, "--entry-overrides", path]) as emu:
        client = Client(emu.url, emu.api_key)
        # No schema check: the contract's action pattern refuses the zero-width space, which
        # is the point of serving it (the collection must cope with a server that sends it).
        resp = client.get("/v1/audit_logs", {"limit": 10}, check=False)
        assert resp.status == 200
        items = resp.json()["items"]
        assert items[0]["user_agent"] == HOSTILE[0]["user_agent"]
        assert items[0]["actor"]["name"] == "+cmd"
        assert items[2]["action"] == u"vm.deleted\u200b"
        assert items[2]["actor"]["name"] == u"admin\u202egnp.exe"


def test_a_bad_file_stops_serve_py_with_a_message(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"index": 99}])
    with pytest.raises(EmulatorError, match="needs an"):
        EmulatorProcess(["--entries", "5", "--entry-overrides", path]).start()
