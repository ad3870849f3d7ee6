# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two endpoints over HTTP: paging, cursors, limits, auth and error bodies.

Every JSON body read here is validated against ../schema by the ``Client``.
"""

import uuid

import pytest

from emulator_testlib import API_KEY, ENTRIES, Client, validate


@pytest.mark.parametrize("params,sort", [
    ({}, None),
    ({"status_code_min": "400"}, None),
    ({"actor_type": "api_key", "path": "VMS"}, "status_code:desc"),
    ({"created_at_min": "2026-10-01T00:00:00Z", "created_at_max": "2026-10-31T23:59:59+00:00"}, "created_at:asc"),
    ({"method": "DELETE"}, "created_at:asc,status_code:desc"),
    ({"action": "no.such"}, None),
])
def test_all_pages_joined_are_the_ground_truth(client, dataset, params, sort):
    query = dict(params, **({"sort": sort} if sort else {}))
    items, pages = client.pages(query, limit=100)
    expected = dataset.select(params, sort)
    assert items == expected
    assert all(p["pagination"]["total_count"] == len(expected) for p in pages)
    assert all(len(p["items"]) == 100 for p in pages[:-1])
    assert pages[0]["pagination"]["previous_cursor"] is None
    assert pages[-1]["pagination"]["next_cursor"] is None


def test_default_limit_is_ten_and_previous_cursor_goes_back(client, dataset):
    first = client.get("/v1/audit_logs").json()
    assert len(first["items"]) == 10 and first["pagination"]["total_count"] == ENTRIES
    second = client.get("/v1/audit_logs", {"cursor": first["pagination"]["next_cursor"]}).json()
    assert second["items"] == dataset.select({})[10:20]
    back = client.get("/v1/audit_logs", {"cursor": second["pagination"]["previous_cursor"]}).json()
    assert back == first
    # A cursor is reusable: the same request gives the same page.
    again = client.get("/v1/audit_logs", {"cursor": first["pagination"]["next_cursor"]}).json()
    assert again == second


@pytest.mark.parametrize("limit,status", [("10", 200), ("100", 200), ("55", 200), ("9", 422), ("101", 422),
                                          ("0", 422), ("-10", 422), ("abc", 422), ("10.5", 422)])
def test_limit_bounds(client, limit, status):
    resp = client.get("/v1/audit_logs", {"limit": limit})
    assert resp.status == status
    if status == 200:
        assert len(resp.json()["items"]) == int(limit)
    else:
        body = resp.json()
        assert body["param"] == "limit" and "limit" in body["message"]


@pytest.mark.parametrize("headers,message", [
    ({}, "missing"),
    ({"Authorization": "Bearer wrong"}, "invalid"),
    ({"Authorization": "Basic " + API_KEY}, "invalid"),
    ({"Authorization": "Bearer " + API_KEY + "x"}, "invalid"),
])
def test_missing_or_wrong_key_is_401_with_json(emu, headers, message):
    c = Client(emu.url, api_key=None)
    for path in ("/v1/audit_logs", "/v1/audit_logs/" + str(uuid.uuid4())):
        resp = c.get(path, headers=headers)
        assert resp.status == 401
        body = resp.json()
        assert body["error"] == "unauthorized" and message in body["message"]
        assert API_KEY not in resp.body.decode()
        assert resp.header("WWW-Authenticate").startswith("Bearer")
    c.close()


def test_bearer_scheme_is_case_insensitive(client):
    assert client.get("/v1/audit_logs", headers={"Authorization": "bearer " + API_KEY}).status == 200


def test_get_one_entry_and_unknown_ids(client, dataset):
    entry = dataset.entry(42)
    resp = client.get("/v1/audit_logs/" + entry["id"])
    assert resp.status == 200 and resp.json() == entry
    for bad in (str(uuid.uuid4()), "nope", "..%2Fsecrets", "%2E%2E", "a%2Fb", "%3Fx"):
        resp = client.get("/v1/audit_logs/" + bad)
        assert resp.status == 404, bad
        assert resp.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/audit_logs/", "/v1/audit_logs/a/b", "/v2/audit_logs",
                                  "/v1/compute/vms", "/v1/AUDIT_LOGS"])
def test_unknown_paths_are_404_json(client, path):
    resp = client.get(path)
    assert resp.status == 404
    assert resp.json()["error"] == "not_found"


def test_other_methods_are_405(client):
    resp = client.request("POST", "/v1/audit_logs", body=b"{}", headers={"Content-Type": "application/json"})
    assert resp.status == 405 and resp.header("Allow") == "GET"
    assert client.get("/v1/audit_logs").status == 200  # the connection survived the body


def _cursor(client, params):
    return client.get("/v1/audit_logs", params).json()["pagination"]["next_cursor"]


def test_tampered_or_forged_cursors_are_400(client):
    good = _cursor(client, {"limit": 10})
    flipped = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    for bad in (flipped, good[:-2], good + "AA", good + "!", "x" + good[1:], "not-a-cursor", "====",
                "eyJvZmZzZXQiOiAxMH0"):
        resp = client.get("/v1/audit_logs", {"limit": 10, "cursor": bad})
        assert resp.status == 400, bad
        assert resp.json()["error"] == "invalid_cursor"


@pytest.mark.parametrize("other", [
    {"limit": 20},
    {"limit": 10, "status_code_min": 400},
    {"limit": 10, "sort": "created_at:asc"},
    {"limit": 10, "action": "vm.read"},
])
def test_cursor_is_bound_to_filters_sort_and_limit(client, other):
    cursor = _cursor(client, {"limit": 10})
    resp = client.get("/v1/audit_logs", dict(other, cursor=cursor))
    assert resp.status == 400
    assert "other filters" in resp.json()["message"]


def test_equivalent_sorts_share_cursors(client):
    """created_at:desc is the default order: spelling it out selects the same list."""
    cursor = _cursor(client, {"limit": 10, "sort": "created_at:desc"})
    assert client.get("/v1/audit_logs", {"limit": 10, "cursor": cursor}).status == 200


@pytest.mark.parametrize("params,param", [
    ({"actor_type": "robot"}, "actor_type"),
    ({"created_at_min": "yesterday"}, "created_at_min"),
    ({"created_at_max": "2026-10-01"}, "created_at_max"),
    ({"created_at_min": "2026-10-01T00:00:00 02:00"}, "created_at_min"),  # '+' sent unencoded
    ({"status_code_min": "4xx"}, "status_code_min"),
    ({"sort": "created_at"}, "sort"),
    ({"sort": "id:asc"}, "sort"),
    ({"sort": "status_code:asc,status_code:desc"}, "sort"),
    ("action=vm.read&action=vm.deleted", "action"),
    ("limit=10&limit=20", "limit"),
])
def test_bad_parameter_values_are_422(client, params, param):
    resp = client.get("/v1/audit_logs", params)
    assert resp.status == 422
    assert resp.json()["param"] == param


def test_plus_in_offset_must_be_percent_encoded(client, dataset):
    resp = client.get("/v1/audit_logs", "created_at_min=2026-10-01T02:00:00%2B02:00&limit=100")
    assert resp.status == 200
    assert resp.json()["pagination"]["total_count"] == dataset.count({"created_at_min": "2026-10-01T00:00:00Z"})


def test_empty_values_and_unknown_parameters_are_ignored(client):
    resp = client.get("/v1/audit_logs", "action=&status_code_min=&whatever=1&limit=10")
    assert resp.status == 200
    assert resp.json()["pagination"]["total_count"] == ENTRIES


def test_seed_generation_ignores_filters_and_sort(emu, admin, client, dataset):
    status, config = admin("PUT", "config", {"api": "seed"})
    assert status == 200 and config["api"] == "seed"
    page = client.get("/v1/audit_logs", {"status_code_min": 500, "sort": "created_at:asc", "limit": 10}).json()
    assert page["pagination"]["total_count"] == ENTRIES
    assert page["items"] == dataset.select({})[:10]
    # Ignored parameters are no part of the cursor's binding; limit still is.
    nxt = client.get("/v1/audit_logs", {"cursor": page["pagination"]["next_cursor"], "limit": 10,
                                        "action": "vm.read"})
    assert nxt.status == 200 and nxt.json()["items"] == dataset.select({})[10:20]
    assert client.get("/v1/audit_logs", {"cursor": page["pagination"]["next_cursor"], "limit": 11}).status == 400
    assert client.get("/v1/audit_logs", {"limit": 5}).status == 422
    items, dummy = client.pages({"actor_type": "user"})
    assert items == dataset.select({})


def test_error_schema_is_strict_enough_to_fail():
    with pytest.raises(Exception):
        validate("error.json", {"message": "no error code"})
    with pytest.raises(Exception):
        validate("audit_log.json", {"id": "x"})
    with pytest.raises(Exception):
        validate("audit_log_list.json", {"items": [], "pagination": {"next_cursor": None, "total_count": 0}})
