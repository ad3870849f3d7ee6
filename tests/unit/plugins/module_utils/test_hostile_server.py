# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client against a hostile or broken server (issue 11): bodies too big, compressed into
bombs or dripped; malformed JSON of every kind; endless cursors; redirects off the API path;
proxies in the environment. Each costs neither completeness, memory, time nor the key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import threading
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuditLogError,
    BadResponseError,
    TransportError,
    UnsafeRedirectError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    EMULATOR_DIR,
    client_for,
    ids,
)

MIB = 1 << 20


def first_page(client, **kwargs):
    return list(client.scan(Query(), max_results=10, **kwargs))


def finishes_within(seconds, work):
    """Run ``work`` in a thread: (finished in time, its result or exception, seconds taken).
    A request that never ends must fail the test, not hang it."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as err:  # pylint: disable=broad-except
            outcome["value"] = err

    started = time.monotonic()
    worker = threading.Thread(target=run)
    worker.daemon = True
    worker.start()
    worker.join(seconds)
    return not worker.is_alive(), outcome.get("value"), time.monotonic() - started


# -- bodies: compressed, oversized, dripped, cut ----------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_an_honest_compressed_body_is_decoded(api, truth, encoding):
    api.faults({"kind": "gzip", "encoding": encoding})
    with client_for(api) as client:
        entries = list(client.scan(Query(), max_results=250))
    assert ids(entries) == ids(truth.select({}, None))[:250]
    assert [r["fault"] for r in api.requests_log()] == ["gzip"] * 3


def test_a_gzip_bomb_stops_at_the_cap(api):
    api.faults({"kind": "gzip", "bomb_mib": 256, "times": 1})
    with client_for(api) as client:
        with pytest.raises(BadResponseError) as err:
            first_page(client)
    assert str(err.value) == ("the API answered HTTP 200 with a body larger than 33554432 bytes"
                              " (decoded); stopped reading it (max_body_bytes)")
    assert client.waits == []  # not retried: the same body would come again


def test_an_oversized_body_stops_at_the_cap_and_the_cap_is_a_setting(api, truth):
    api.faults({"kind": "oversized", "mib": 3, "times": 2})
    with client_for(api, max_body_bytes=2 * MIB) as client:
        with pytest.raises(BadResponseError, match="larger than 2097152 bytes"):
            first_page(client)
    # Below the default cap the same padded body (leading JSON white space) is read.
    with client_for(api) as client:
        assert ids(first_page(client)) == ids(truth.select({}, None))[:10]


def test_the_body_cap_is_validated():
    with pytest.raises(AuditLogError, match="max_body_bytes: must be a whole number"):
        AuditLogClient("k", base_url="http://127.0.0.1:9", max_body_bytes=10)


def test_timeout_is_a_deadline_for_the_whole_attempt(api, truth):
    # One byte every 0.2 s: each read is well inside the timeout, the response never ends.
    api.faults({"kind": "drip", "bytes_per_tick": 1, "interval": 0.2})
    client = client_for(api, timeout=2, max_retries=0)
    done, value, took = finishes_within(15, lambda: first_page(client))
    client.close()
    assert done, "a dripping server kept a timeout=2 request alive"
    assert isinstance(value, TransportError)
    assert "no response from 127.0.0.1:" in str(value)
    assert "within 2 s (timeout is a deadline for each attempt" in str(value)
    assert took < 5


def test_a_reset_before_the_status_line_is_retried(api, truth):
    api.faults({"kind": "reset", "before_status": True, "times": 1})
    with client_for(api) as client:
        assert ids(first_page(client)) == ids(truth.select({}, None))[:10]
    assert len(client.waits) == 1
    api.faults({"kind": "reset", "before_status": True})
    with client_for(api, max_retries=1) as client:
        with pytest.raises(TransportError, match="connection to 127.0.0.1:[0-9]+ failed: .*"
                                                 r"\(after 2 attempts\)"):
            first_page(client)


# -- malformed JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ('{"items": [{"id": "a", "score": NaN}]}', "non-standard JSON (NaN is not a JSON value)"),
    ('{"items": [], "pagination": {"total_count": Infinity}}',
     "non-standard JSON (Infinity is not a JSON value)"),
    ('{"items": [-Infinity]}', "non-standard JSON (-Infinity is not a JSON value)"),
    ('[' * 100000 + ']' * 100000, "JSON nested too deeply to read"),
    ('{"items": [{"id": "\\ud800"}]}', "unpaired UTF-16 surrogate"),
])
def test_non_standard_json_is_a_bad_response(api, body, message):
    api.faults({"kind": "invalid_json", "body": body, "times": 1})
    with client_for(api) as client:
        with pytest.raises(BadResponseError) as err:
            first_page(client)
    assert message in str(err.value)


@pytest.mark.parametrize("body, message", [
    ('{"items": {"id": "a"}}', "a page that has no 'items' list"),
    ('{"items": [], "pagination": []}', "a page whose pagination is an array, not an object"),
    ('{"items": [], "pagination": {"next_cursor": 5}}',
     "a page whose next_cursor is a number, not a string"),
    ('{"items": [], "pagination": {"total_count": "3"}}',
     "a page whose total_count is a string, not a whole number"),
    ('{"items": [], "pagination": {"total_count": true}}',
     "a page whose total_count is a boolean, not a whole number"),
    ('{"items": ["a"]}', "an entry that is a string, not an object"),
    ('{"items": [{"id": ["a"]}]}', "an entry whose id is an array, not a string"),
    ('{"items": [{"id": "a", "created_at": 5}]}',
     "an entry whose created_at is a number, not a string"),
    ('{"items": [{"id": "a", "actor": "root"}]}',
     "an entry whose actor is a string, not an object"),
    ('{"items": [{"id": "a", "actor": {"type": ["user"]}}]}',
     "an entry whose actor.type is an array, not a string"),
    ('{"items": [{"id": "a", "target": {"id": {}}}]}',
     "an entry whose target.id is an object, not a string"),
])
def test_wrong_json_types_in_the_fields_read_are_a_bad_response(api, body, message):
    api.faults({"kind": "invalid_json", "body": body, "times": 1})
    with client_for(api) as client:
        with pytest.raises(BadResponseError) as err:
            list(client.scan(Query(actor_type="user")))
    assert str(err.value) == "the API answered with " + message


# -- completeness, endless cursors, guards -----------------------------------------------------

def test_endless_fresh_cursors_stop_past_the_announced_count(api, truth):
    total = len(truth.select({}, None))
    api.faults({"kind": "endless_cursor"})
    client = client_for(api)
    done, value, took = finishes_within(120, lambda: list(client.scan(Query())))
    client.close()
    assert done, "an endless cursor was followed for %d s" % took
    assert isinstance(value, BadResponseError)
    message = str(value)
    assert message.startswith("the API sent %d entries after saying %d exist (total_count)"
                              % (total + 100 + total // 10 + 1, total))
    assert message.endswith("stopped instead of following its cursors for ever")


def test_max_pages_stops_an_endless_scan_and_says_so(api, truth):
    api.faults({"kind": "endless_cursor"})
    with client_for(api) as client:
        scan = client.scan(Query(), max_pages=35)
        entries = list(scan)
    assert ids(entries[:3000]) == ids(truth.select({}, None)) and len(entries) == 3005
    report = scan.report
    assert report["complete"] is False and report["stopped_by"] == "max_pages"
    assert report["incomplete_reason"] == ("stopped after max_pages=35 pages; the server has"
                                           " more (resume with next_cursor)")
    assert report["next_cursor"]


def test_a_deadline_stops_a_scan_between_pages(api):
    ticks = iter(range(0, 1000, 10))
    with client_for(api) as client:
        scan = Scan(client.transport, Query(), deadline=25, clock=lambda: next(ticks))
        entries = list(scan)
    assert len(entries) == 300 and scan.report["stopped_by"] == "deadline"
    assert scan.report["incomplete_reason"].startswith("stopped at the deadline of 25 s, after"
                                                       " 3 pages")


@pytest.mark.parametrize("delta", [5, -5])
def test_a_count_that_disagrees_makes_the_result_incomplete(api, truth, delta):
    api.faults({"kind": "wrong_total", "delta": delta})
    with client_for(api) as client:
        scan = client.scan(Query())
        entries = list(scan)
    total = len(truth.select({}, None))
    assert len(entries) == total and scan.report["complete"] is False
    assert scan.report["incomplete_reason"] == (
        "the server said %d entries match the request (total_count) but sent %d; the result"
        " cannot be the whole answer" % (total + delta, total))


# -- redirects and the key ---------------------------------------------------------------------

@pytest.mark.parametrize("location", [
    "/_emulator/stats",
    "/v1/audit_logs_export",
    "/v1/audit_logs/../../_emulator/stats",
    "/v1/audit_logs/%2e%2e/%2e%2e/_emulator/stats",
])
def test_a_same_origin_redirect_off_the_api_path_is_refused(api, truth, location):
    api.faults({"kind": "redirect", "to": "self", "location": location, "times": 1})
    with client_for(api) as client:
        with pytest.raises(UnsafeRedirectError) as err:
            client.get(truth.select({}, None)[0]["id"])
    assert "outside the API's path /v1/audit_logs; not followed" in str(err.value)
    assert [r["status"] for r in api.requests_log()] == [307]


def test_the_key_is_masked_before_a_message_is_shortened(api, truth):
    # The key starts at character 190: shortening first (to 200) would show its first 7.
    api.faults({"kind": "status", "status": 500, "message": "x" * 190 + api.api_key})
    with client_for(api, max_retries=0) as client:
        with pytest.raises(AuditLogError) as err:
            client.get(truth.select({}, None)[0]["id"])
    assert api.api_key[:6] not in str(err.value) and "********" in str(err.value)


def test_any_bearer_token_in_a_message_is_masked(api, truth):
    api.faults({"kind": "status", "status": 502, "message": "upstream said: Authorization:"
                                                            " Bearer sk_live_abcdef0123"})
    with client_for(api, max_retries=0) as client:
        with pytest.raises(AuditLogError) as err:
            client.get(truth.select({}, None)[0]["id"])
    assert "sk_live" not in str(err.value) and "Bearer ********" in str(err.value)


# -- proxies -----------------------------------------------------------------------------------

@pytest.fixture
def trap(monkeypatch):
    if EMULATOR_DIR not in sys.path:
        sys.path.insert(0, EMULATOR_DIR)
    from proxy_trap import ProxyTrap  # pylint: disable=import-error,import-outside-toplevel
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ProxyTrap(secret="nl-test-key") as running:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                     "all_proxy"):
            monkeypatch.setenv(name, running.url)
        yield running


@pytest.mark.parametrize("use_proxy", [True, False])
def test_plain_http_never_goes_through_a_proxy(api, truth, trap, use_proxy):
    with client_for(api, use_proxy=use_proxy) as client:
        assert ids(first_page(client)) == ids(truth.select({}, None))[:10]
    assert trap.records == []


def test_https_uses_the_proxy_only_as_a_tunnel(emulator_tls, trap):
    with AuditLogClient(emulator_tls.api_key, base_url=emulator_tls.url, max_retries=0,
                        ca_path=emulator_tls.ca_path) as client:
        with pytest.raises(TransportError, match="failed"):
            first_page(client)
    host = emulator_tls.url.split("//", 1)[1]
    assert trap.records == [{"method": "CONNECT", "target": host, "authorization": False,
                             "secret_seen": False}]


def test_https_without_use_proxy_ignores_the_environment(emulator_tls, truth, trap):
    with AuditLogClient(emulator_tls.api_key, base_url=emulator_tls.url, use_proxy=False,
                        ca_path=emulator_tls.ca_path) as client:
        assert ids(first_page(client)) == ids(truth.select({}, None))[:10]
    assert trap.records == []


def test_requests_ca_bundle_is_honoured(emulator_tls, truth, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator_tls.ca_path)
    with AuditLogClient(emulator_tls.api_key, base_url=emulator_tls.url) as client:
        assert ids(first_page(client)) == ids(truth.select({}, None))[:10]
    assert os.path.exists(emulator_tls.ca_path)
