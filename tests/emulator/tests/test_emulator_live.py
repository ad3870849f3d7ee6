# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entries added while the emulator runs (``POST /_emulator/entries``).

Each test gets its own small emulator: added entries outlive ``/_emulator/reset``, so they
must not leak into the shared one the other tests compare with the seeded ground truth.
"""

import json

import pytest

from emulator_testlib import API_KEY, NOW, SEED, Client
from audit_emulator import Dataset
from audit_emulator.server import Emulator

SEEDED = 150  # more than one page of 100, so the joins between the two parts are crossed


@pytest.fixture
def live():
    emu = Emulator(api_key=API_KEY, dataset=Dataset(seed=SEED, entries=SEEDED, now=NOW)).start()
    client = Client(emu.url)

    def add(body, expect=201):
        resp = client.request("POST", "/_emulator/entries", body=json.dumps(body).encode(),
                              auth=False)
        assert resp.status == expect, resp.body
        return resp.json()

    yield emu, client, add
    client.close()
    emu.stop()


def test_added_entries_are_listed_newest_first_and_oldest_first(live):
    emu, client, add = live
    seeded = emu.dataset.select({})
    made = add([{"created_at": "2026-11-01T00:00:05Z", "action": "vm.created", "method": "POST"},
                {"created_at": "2026-11-01T00:00:09Z"},
                {"created_at": "2026-11-01T00:00:05Z", "status_code": 503}])["items"]
    assert len(made) == 3 and len(set(e["id"] for e in made)) == 3
    newest, oldest = client.pages({}, limit=100), client.pages({"sort": "created_at:asc"}, limit=100)
    # created_at, then id in the same direction: the two at 00:00:05 are ordered by id
    tied = sorted([made[0], made[2]], key=lambda e: e["id"], reverse=True)
    assert newest[0] == [made[1]] + tied + seeded
    assert oldest[0] == list(reversed(newest[0]))
    assert all(p["pagination"]["total_count"] == SEEDED + 3 for p in newest[1] + oldest[1])
    assert client.get("/v1/audit_logs/" + made[1]["id"]).json() == made[1]


def test_filters_and_status_order_apply_to_added_entries(live):
    emu, client, add = live
    add([{"created_at": "2026-11-01T00:00:01Z", "action": "api_key.created", "status_code": 201},
         {"created_at": "2026-11-01T00:00:02Z", "actor": {"id": "u1", "type": "user"}},
         {"created_at": "2026-11-01T00:00:03Z", "status_code": 404}])
    items, dummy = client.pages({"actor_type": "api_key", "created_at_min": "2026-11-01T00:00:00Z"})
    assert [e["created_at"] for e in items] == ["2026-11-01T00:00:03Z", "2026-11-01T00:00:01Z"]
    assert [e["action"] for e in client.pages({"action": "api_key.created"})[0]] == ["api_key.created"]
    by_status, dummy = client.pages({"sort": "status_code:desc"})
    statuses = [e["status_code"] for e in by_status]
    assert statuses == sorted(statuses, reverse=True) and len(by_status) == SEEDED + 3
    assert {e["status_code"] for e in by_status if e["path"] == "/v1/compute/vms/live-vm"} \
        == {201, 200, 404}
    truth = client.request("GET", "/_emulator/truth", {"ids_only": "true"}, auth=False).json()
    assert truth["ids"] == [e["id"] for e in client.pages({})[0]]


def test_defaults_are_the_current_second_after_the_data_set(live):
    emu, client, add = live
    entry = add({})["items"][0]
    # the data set ends at NOW (in the past); an entry made now carries the current second
    assert entry["created_at"] > NOW and entry["action"] == "vm.deleted"
    assert client.get("/v1/audit_logs", {"limit": 10}).json()["items"][0] == entry


@pytest.mark.parametrize("body,message", [
    ({"colour": "red"}, "unknown field"),
    ({"created_at": "2026-10-31T23:59:59Z"}, "after the data set's now"),
    ({"created_at": "yesterday"}, "RFC 3339"),
    ({"actor": {"id": "x", "type": "robot"}}, "actor"),
    ({"status_code": "200"}, "status_code"),
    ("not a list", "at most"),
])
def test_bad_entries_are_refused_and_add_nothing(live, body, message):
    emu, client, add = live
    answer = add(body, expect=400)
    assert message in answer["message"]
    assert len(emu.live) == 0
    resp = client.request("POST", "/_emulator/entries", body=b"{not json", auth=False)
    assert resp.status == 400 and "JSON" in resp.json()["message"]
