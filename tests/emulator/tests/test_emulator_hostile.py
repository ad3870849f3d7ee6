# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile server's faults, seen from a raw client: compressed bodies and bombs, oversized
bodies, a slow drip, a reset before the status line, empty pages and endless cursors,
redirects off the API path; and the proxy trap."""

import http.client
import json
import socket
import time
import urllib.request
import zlib

import pytest

from emulator_testlib import API_KEY, Client, raw_exchange

from audit_emulator import hostile

LIST = "/v1/audit_logs"
MIB = 1 << 20
GET_PAGE = ("GET /v1/audit_logs?limit=10 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
            % API_KEY).encode()


def put(admin, rules):
    status, body = admin("PUT", "faults", rules)
    assert status == 200, body
    return body


def split(data):
    head, dummy, body = data.partition(b"\r\n\r\n")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    return head.split(b"\r\n")[0], headers, body


@pytest.mark.parametrize("encoding, wbits", [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS)])
def test_an_honest_compressed_body(admin, client, emu, encoding, wbits):
    plain = client.get(LIST).json()
    put(admin, [{"kind": "gzip", "encoding": encoding, "times": 1}])
    status, headers, body = split(raw_exchange(emu.url, GET_PAGE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")))
    assert status == b"HTTP/1.1 200 OK" and headers[b"Content-Encoding"] == encoding.encode()
    assert int(headers[b"Content-Length"]) == len(body)
    assert json.loads(zlib.decompress(body, wbits)) == plain


def test_a_gzip_bomb_decodes_to_its_size_of_white_space_then_the_page(admin, client, emu):
    plain = client.get(LIST).json()
    put(admin, [{"kind": "gzip", "bomb_mib": 64, "times": 1}])
    status, headers, body = split(raw_exchange(emu.url, GET_PAGE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")))
    assert len(body) < MIB // 8  # at least 512:1
    decoded = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    assert len(decoded) > 64 * MIB and decoded[:64 * MIB].strip() == b""
    assert json.loads(decoded) == plain


def test_an_oversized_body_is_streamed_with_an_exact_length(admin, client, emu):
    plain = client.get(LIST).json()
    put(admin, [{"kind": "oversized", "mib": 3, "times": 1}])
    fresh = Client(emu.url)
    resp = fresh.get(LIST)
    fresh.close()
    assert len(resp.body) > 3 * MIB and json.loads(resp.body) == plain
    assert resp.header("content-length") == str(len(resp.body))


def test_a_client_hanging_up_on_an_oversized_body_costs_the_emulator_nothing(admin, emu):
    put(admin, [{"kind": "oversized", "mib": 512, "times": 1}])
    sock = socket.create_connection(("127.0.0.1", int(emu.url.rsplit(":", 1)[1])), timeout=5)
    sock.sendall(GET_PAGE)
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    sock.close()
    assert Client(emu.url).get(LIST).status == 200


def test_a_drip_sends_the_whole_response_a_byte_at_a_time(admin, emu):
    put(admin, [{"kind": "drip", "bytes_per_tick": 1, "interval": 0.3, "times": 1}])
    sock = socket.create_connection(("127.0.0.1", int(emu.url.rsplit(":", 1)[1])), timeout=5)
    sock.sendall(GET_PAGE)
    started = time.monotonic()
    received = b""
    while len(received) < 5:
        received += sock.recv(100)
        assert len(received) <= 5  # never more than one byte per tick
    sock.close()
    assert received == b"HTTP/"
    assert time.monotonic() - started >= 4 * 0.3 - 0.1


def test_a_reset_before_the_status_line(admin, emu):
    put(admin, [{"kind": "reset", "before_status": True, "times": 1}])
    with pytest.raises(ConnectionResetError):
        raw_exchange(emu.url, GET_PAGE)  # a reset, not a FIN, and not one byte before it
    assert emu.stats.snapshot()["log"][-1]["fault"] == "reset"
    assert Client(emu.url).get(LIST).status == 200


def test_an_empty_page_cursor_is_fresh_and_leads_to_the_same_entries(admin, client, dataset):
    put(admin, [{"kind": "empty_page", "after": 1, "times": 1}])
    first = client.get(LIST, {"limit": 100}).json()
    empty = client.get(LIST, {"limit": 100, "cursor": first["pagination"]["next_cursor"]}).json()
    cursor = empty["pagination"]["next_cursor"]
    assert empty["items"] == [] and cursor.startswith(hostile.AGAIN_PREFIX)
    assert cursor != first["pagination"]["next_cursor"]
    again = client.get(LIST, {"limit": 100, "cursor": cursor}).json()
    assert again["items"] == dataset.select({})[100:200]


def test_endless_cursors_hand_out_one_new_entry_each(admin, client):
    put(admin, [{"kind": "endless_cursor"}])
    params = {"limit": 100, "action": "vm.deleted"}
    page = client.get(LIST, params).json()
    total = page["pagination"]["total_count"]
    seen, cursors = [], set()
    while len(seen) < total + 5:
        cursors.add(page["pagination"]["next_cursor"])
        seen.extend(e["id"] for e in page["items"])
        page = client.get(LIST, dict(params, cursor=page["pagination"]["next_cursor"])).json()
        assert page["pagination"]["total_count"] == total  # the lie stays the same
    assert len(set(seen)) == len(seen) and len(cursors) == len(set(cursors))
    assert seen[total:] == ["00000000-0000-4000-8000-%012d" % n for n in range(1, len(seen) - total + 1)]


def test_a_redirect_to_a_path_on_the_same_origin(admin, client, emu):
    put(admin, [{"kind": "redirect", "to": "self", "location": "/_emulator/stats", "times": 1}])
    resp = client.get(LIST)
    assert resp.status == 307 and resp.header("location") == emu.url + "/_emulator/stats"


@pytest.mark.parametrize("rule, needle", [
    ({"kind": "gzip", "encoding": "br"}, "encoding"),
    ({"kind": "gzip", "bomb_mib": 0}, "bomb_mib"),
    ({"kind": "oversized", "mib": None}, "mib"),
    ({"kind": "drip", "interval": -1}, "interval"),
    ({"kind": "drip", "bytes_per_tick": 0}, "bytes_per_tick"),
    ({"kind": "reset", "before_status": "yes"}, "before_status"),
    ({"kind": "redirect", "to": "self", "location": "elsewhere"}, "location"),
])
def test_invalid_hostile_rules_are_refused(admin, rule, needle):
    status, body = admin("PUT", "faults", [rule])
    assert status == 400 and needle in body["message"]


def test_the_proxy_trap_records_and_forwards_nothing(emu):
    from proxy_trap import ProxyTrap  # pylint: disable=import-error,import-outside-toplevel
    with ProxyTrap(secret=API_KEY) as trap:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": trap.url}))
        request = urllib.request.Request(emu.url + LIST, headers={"Authorization": "Bearer " + API_KEY})
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(request, timeout=5)
        assert err.value.code == 502
        conn = http.client.HTTPConnection("127.0.0.1", int(trap.url.rsplit(":", 1)[1]), timeout=5)
        conn.request("CONNECT", "api.example.test:443")
        assert conn.getresponse().status == 502
        conn.close()
    assert trap.records == [
        {"method": "GET", "target": emu.url + LIST, "authorization": True, "secret_seen": True},
        {"method": "CONNECT", "target": "api.example.test:443", "authorization": False,
         "secret_seen": False},
    ]
    assert emu.stats.snapshot()["requests"] == 0
