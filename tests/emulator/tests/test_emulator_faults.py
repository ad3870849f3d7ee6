# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each fault kind, seen from a raw client; triggers; the fault admin API."""

import email.utils
import http.client
import json
import socket
import time

import pytest

from emulator_testlib import API_KEY, ENTRIES, Client, raw_exchange, validate

LIST = "/v1/audit_logs"
GET_PAGE = ("GET /v1/audit_logs?limit=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
            % API_KEY).encode()


def put(admin, rules):
    status, body = admin("PUT", "faults", rules)
    assert status == 200, body
    return body


def statuses(client, n, params=None):
    return [client.get(LIST, params or {"limit": 10}, check=False).status for dummy in range(n)]


def test_status_fails_twice_then_succeeds(admin, client):
    put(admin, [{"kind": "status", "status": 503, "times": 2, "retry_after": 2, "should_retry": True}])
    first = client.get(LIST)
    assert first.status == 503
    assert first.header("Retry-After") == "2" and first.header("x-should-retry") == "true"
    assert first.json()["status"] == 503
    assert statuses(client, 3) == [503, 200, 200]
    dummy, desc = admin("GET", "faults")
    assert desc["faults"][0]["fired"] == 2 and desc["faults"][0]["exhausted"]


@pytest.mark.parametrize("body,ctype,check", [
    ("json", "application/json", lambda b: json.loads(b)["error"] == "bad_gateway"),
    ("html", "text/html; charset=utf-8", lambda b: b.startswith(b"<!DOCTYPE html>") and b"502" in b),
    ("text", "text/plain; charset=utf-8", lambda b: b.startswith(b"502 Bad Gateway")),
    ("empty", None, lambda b: b == b""),
])
def test_status_bodies(admin, client, body, ctype, check):
    put(admin, [{"kind": "status", "status": 502, "body": body}])
    resp = client.get(LIST, check=False)
    assert resp.status == 502 and resp.header("Content-Type") == ctype and check(resp.body)
    assert resp.header("Content-Length") == str(len(resp.body))


def test_statuses_without_a_body_keep_the_connection_usable(admin, client):
    put(admin, [{"kind": "status", "status": 204, "times": 1}])
    resp = client.get(LIST, check=False)
    assert (resp.status, resp.body) == (204, b"")
    assert client.get(LIST).status == 200  # same connection, framing intact


def test_retry_after_forms_and_custom_headers(admin, client):
    put(admin, [{"kind": "status", "status": 503, "times": 1, "retry_after_date": 30},
                {"kind": "status", "status": 429, "times": 1, "retry_after_ms": 1500, "should_retry": False},
                {"kind": "status", "status": 500, "times": 1, "headers": {"Retry-After": "soon", "X-Extra": "1"},
                 "retry_after": 5}])
    dated = client.get(LIST)
    when = email.utils.parsedate_to_datetime(dated.header("Retry-After"))
    assert when.timestamp() > time.time()  # a date in the future, not a number of seconds
    ms = client.get(LIST)
    assert (ms.status, ms.header("Retry-After-Ms"), ms.header("x-should-retry")) == (429, "1500", "false")
    custom = client.get(LIST)
    assert custom.header("Retry-After") == "soon" and custom.header("X-Extra") == "1"


def test_rate_limit_kind(admin, client):
    put(admin, [{"kind": "rate_limit", "every": 2}])
    got = [(r.status, r.header("Retry-After")) for r in (client.get(LIST) for dummy in range(4))]
    assert got == [(200, None), (429, "1"), (200, None), (429, "1")]


def test_every_after_and_probability_triggers(admin, client):
    put(admin, [{"kind": "status", "status": 500, "every": 3}])
    assert statuses(client, 7) == [200, 200, 500, 200, 200, 500, 200]
    put(admin, [{"kind": "status", "status": 500, "after": 2, "times": 1}])
    assert statuses(client, 5) == [200, 200, 500, 200, 200]
    rule = [{"kind": "status", "status": 503, "probability": 0.5}]
    put(admin, rule)
    first = statuses(client, 40)
    put(admin, rule)  # replacing the rules restarts their counters: the same requests, the same faults
    assert statuses(client, 40) == first
    assert 5 < first.count(503) < 35
    put(admin, [{"kind": "status", "status": 503, "every": 2, "times": 2}])
    assert statuses(client, 6) == [200, 503, 200, 503, 200, 200]


def test_match_by_path_regex_and_method(admin, client, dataset):
    entry_id = dataset.entry(0)["id"]
    put(admin, [{"kind": "status", "status": 500, "path": "/v1/audit_logs/"},
                {"kind": "status", "status": 502, "path_regex": "cursor="},
                {"kind": "status", "status": 504, "method": "POST"}])
    page = client.get(LIST)
    assert page.status == 200
    assert client.get(LIST + "/" + entry_id, check=False).status == 500
    assert client.get(LIST, {"cursor": page.json()["pagination"]["next_cursor"]}, check=False).status == 502
    assert client.request("POST", LIST, check=False).status == 504


def test_first_firing_rule_decides_and_latency_adds_up(admin, client, emu):
    put(admin, [{"kind": "latency", "fixed_ms": 20, "jitter_ms": 10},
                {"kind": "status", "status": 500, "times": 1},
                {"kind": "status", "status": 501, "times": 1}])
    assert statuses(client, 3) == [500, 501, 200]
    log = emu.stats.snapshot()["log"]
    assert [e["fault"] for e in log] == ["status", "status", None]
    delays = [e["latency_ms"] for e in log]
    assert all(20 <= d <= 30 for d in delays)
    put(admin, [{"kind": "latency", "fixed_ms": 20, "jitter_ms": 10}])
    admin("POST", "reset")
    put(admin, [{"kind": "latency", "fixed_ms": 20, "jitter_ms": 10},
                {"kind": "status", "status": 500, "times": 1},
                {"kind": "status", "status": 501, "times": 1}])
    statuses(client, 3)
    assert [e["latency_ms"] for e in emu.stats.snapshot()["log"]] == delays  # seeded jitter replays


def test_latency_beyond_a_client_timeout(admin, emu):
    put(admin, [{"kind": "latency", "fixed_ms": 3000, "times": 1}])
    slow = Client(emu.url, timeout=0.3)
    with pytest.raises(socket.timeout):
        slow.get(LIST)
    slow.close()
    assert Client(emu.url).get(LIST).status == 200


def test_stall_then_close(admin, emu):
    put(admin, [{"kind": "stall", "seconds": 3, "times": 1}, {"kind": "stall", "seconds": 0.05, "times": 1}])
    c = Client(emu.url, timeout=0.3)
    with pytest.raises(socket.timeout):
        c.get(LIST)
    c.close()
    # A short stall ends in a closed connection and no response at all.
    c = Client(emu.url, timeout=10)
    with pytest.raises(http.client.RemoteDisconnected):
        c.get(LIST)
    c.close()
    log = emu.stats.snapshot()["log"]
    assert [(e["fault"], e["status"]) for e in log] == [("stall", None), ("stall", None)]


def test_connection_reset_mid_response(admin, emu):
    put(admin, [{"kind": "reset", "after_bytes": 50}])
    received = []
    with pytest.raises(ConnectionResetError):
        sock = socket.create_connection((emu.host, int(emu.url.rsplit(":", 1)[1])), timeout=5)
        try:
            sock.sendall(GET_PAGE)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received.append(chunk)
        finally:
            sock.close()
    data = b"".join(received)
    assert not data or data.startswith(b"HTTP/1.1 200")
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, http.client.RemoteDisconnected)):
        Client(emu.url).get(LIST)


def test_truncated_body(admin, emu):
    put(admin, [{"kind": "truncate", "keep_bytes": 100}])
    data = raw_exchange(emu.url, GET_PAGE)
    head, dummy, body = data.partition(b"\r\n\r\n")
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
    assert len(body) == 100 < length
    with pytest.raises(http.client.IncompleteRead):
        Client(emu.url).get(LIST)


def test_invalid_json_on_200(admin, client, dataset):
    put(admin, [{"kind": "invalid_json", "times": 1}])
    resp = client.get(LIST, check=False)
    assert resp.status == 200 and resp.header("Content-Type") == "application/json"
    with pytest.raises(ValueError):
        resp.json()
    put(admin, [{"kind": "invalid_json", "body": "<html>oops</html>"}])
    resp = client.get(LIST + "/" + dataset.entry(0)["id"], check=False)
    assert resp.body == b"<html>oops</html>"


def test_cursor_loop(admin, client, dataset):
    put(admin, [{"kind": "cursor_loop"}])
    first = client.get(LIST).json()
    looped = client.get(LIST, {"cursor": first["pagination"]["next_cursor"]}).json()
    assert looped["items"] == first["items"]  # the first page's next_cursor points at itself
    again = client.get(LIST, {"cursor": first["pagination"]["next_cursor"]}).json()
    assert again["pagination"]["next_cursor"] == first["pagination"]["next_cursor"]
    assert again["items"] == dataset.select({})[:10]


def test_duplicate_across_a_page_boundary(admin, client, dataset):
    put(admin, [{"kind": "duplicate", "times": 1}])
    items, pages = client.pages({}, limit=100)
    assert pages[1]["items"][0] == pages[0]["items"][-1]
    ids = [e["id"] for e in items]
    assert len(ids) == ENTRIES + 1 and len(set(ids)) == ENTRIES
    assert set(ids) == set(e["id"] for e in dataset.select({}))


def test_empty_page_with_a_next_cursor(admin, client, dataset):
    put(admin, [{"kind": "empty_page", "times": 1}])
    empty = client.get(LIST, {"limit": 100}).json()
    assert empty["items"] == [] and empty["pagination"]["next_cursor"]
    assert empty["pagination"]["total_count"] == ENTRIES
    resumed = client.get(LIST, {"limit": 100, "cursor": empty["pagination"]["next_cursor"]}).json()
    assert resumed["items"] == dataset.select({})[:100]


def test_extra_fields(admin, client, dataset):
    put(admin, [{"kind": "extra_fields", "times": 1}, {"kind": "extra_fields", "fields": {"zone": "z1"}}])
    page = client.get(LIST).json()  # still valid: the schema allows unknown fields
    assert all(e["request_id"] == "req_emulated" and "email" in e["actor"] for e in page["items"])
    assert page["object"] == "list" and page["pagination"]["limit"] == 10
    one = client.get(LIST + "/" + dataset.entry(0)["id"]).json()
    assert one["zone"] == "z1"
    validate("audit_log.json", one)


def test_wrong_total_count(admin, client):
    put(admin, [{"kind": "wrong_total", "delta": -5}])
    assert client.get(LIST).json()["pagination"]["total_count"] == ENTRIES - 5


def test_list_faults_wait_for_a_list_page(admin, client):
    put(admin, [{"kind": "wrong_total", "times": 1}, {"kind": "duplicate", "times": 1}])
    assert client.get(LIST, auth=False).status == 401  # not a list page: no rule counts it
    assert client.get(LIST, {"action": "no.such"}).json()["pagination"]["total_count"] == 1
    dummy, desc = admin("GET", "faults")
    # The 401 was not counted; the last page (no next page) cannot carry a duplicate.
    assert [(f["matched"], f["fired"]) for f in desc["faults"]] == [(1, 1), (0, 0)]


def test_redirect_to_another_port_records_leaked_authorization(admin, emu, client):
    put(admin, [{"kind": "redirect"}])
    resp = client.get(LIST, {"limit": 10})
    assert resp.status == 307
    assert resp.header("Location") == emu.redirect_url + "/v1/audit_logs?limit=10"
    stats = emu.stats.snapshot()["redirect_target"]
    assert stats["requests"] == 0 and stats["authorization_received"] is False
    # A careful client follows without the key: nothing leaks (and the other origin says 401).
    careful = Client(emu.redirect_url, api_key=None)
    assert careful.get("/v1/audit_logs", {"limit": 10}).status == 401
    assert emu.stats.snapshot()["redirect_target"]["authorization_received"] is False
    # A careless one carries the key along, and the stats show it.
    careless = Client(emu.redirect_url)
    assert careless.get("/v1/audit_logs", {"limit": 10}).status == 200
    stats = emu.stats.snapshot()["redirect_target"]
    assert stats["authorization_received"] is True and stats["requests"] == 2
    assert [e["authorization_received"] for e in stats["log"]] == [False, True]


def test_redirect_to_another_host_or_url(admin, client, emu):
    put(admin, [{"kind": "redirect", "to": "other_host", "status": 302, "times": 1},
                {"kind": "redirect", "to": "http://127.0.0.1:9/elsewhere", "status": 308, "times": 1}])
    first = client.get(LIST)
    port = emu.redirect_url.rsplit(":", 1)[1]
    assert first.status == 302 and first.header("Location") == "http://localhost:%s/v1/audit_logs" % port
    second = client.get(LIST)
    assert second.status == 308 and second.header("Location") == "http://127.0.0.1:9/elsewhere/v1/audit_logs"


@pytest.mark.parametrize("rules,needle", [
    ([{"kind": "nope"}], "unknown fault kind"),
    ([{"kind": "status"}], "status"),
    ([{"kind": "status", "status": 503, "retry_afer": 1}], "unknown key"),
    ([{"kind": "status", "status": 503, "every": 2, "probability": 0.5}], "not both"),
    ([{"kind": "status", "status": 503, "times": 0}], "times"),
    ([{"kind": "latency", "fixed_ms": "slow"}], "fixed_ms"),
    ([{"kind": "redirect", "to": "ftp://x"}], "to"),
    ([{"kind": "status", "status": 503, "path_regex": "("}], "path_regex"),
    ({"kind": "status"}, "list"),
])
def test_invalid_rules_are_refused_and_change_nothing(admin, rules, needle):
    put(admin, [{"kind": "wrong_total"}])
    status, body = admin("PUT", "faults", rules)
    assert status == 400 and needle in body["message"]
    dummy, desc = admin("GET", "faults")
    assert [f["rule"]["kind"] for f in desc["faults"]] == ["wrong_total"]


def test_yaml_rules_delete_and_reset(admin, client):
    yaml_rules = b"faults:\n  - kind: status\n    status: 418\n    times: 1\n"
    assert admin("PUT", "faults", yaml_rules)[0] == 200
    assert client.get(LIST, check=False).status == 418
    put(admin, [{"kind": "status", "status": 500}])
    assert admin("DELETE", "faults") == (200, {"faults": []})
    assert client.get(LIST).status == 200
    put(admin, [{"kind": "status", "status": 500}])
    admin("POST", "reset")
    assert admin("GET", "faults")[1] == {"faults": []}


def test_admin_api_is_never_faulted(admin, emu):
    put(admin, [{"kind": "status", "status": 500, "path": "/"}])
    status, stats = admin("GET", "stats")
    assert status == 200 and stats["requests"] == 0
