# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client on the API's bad days: every fault the emulator offers, the retries and waits
it causes (observed through the injected sleep, never slept), the error it ends in, and the
key's absence from every message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuditLogError,
    BadResponseError,
    RateLimitedError,
    TransportError,
    UnsafeRedirectError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    client_for,
    ids,
    start_emulator,
)

LIST = "/v1/audit_logs"


def first_page(client):
    return list(client.scan(Query(), max_results=10))


def get_any(client, truth):
    return client.get(truth.select({}, None)[0]["id"])


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_with_backoff(api, truth, status):
    api.faults({"kind": "status", "status": status, "times": 2})
    with client_for(api) as client:
        assert get_any(client, truth)
    assert len(client.waits) == 2
    assert 0.375 <= client.waits[0] <= 0.5 and 0.75 <= client.waits[1] <= 1.0
    assert api.stats()["requests"] == 3


@pytest.mark.parametrize("status", [400, 403, 422])
def test_other_statuses_are_not_retried(api, truth, status):
    api.faults({"kind": "status", "status": status, "times": 1, "message": "nope"})
    with client_for(api) as client:
        with pytest.raises(ApiError) as err:
            get_any(client, truth)
    assert err.value.status == status and "nope" in str(err.value)
    assert client.waits == []


def test_x_should_retry_false_forbids_and_true_forces(api, truth):
    api.faults({"kind": "status", "status": 503, "times": 1, "should_retry": False})
    with client_for(api) as client:
        with pytest.raises(ApiError) as err:
            get_any(client, truth)
    assert err.value.status == 503 and client.waits == []
    api.faults({"kind": "status", "status": 400, "times": 1, "should_retry": True})
    with client_for(api) as client:
        assert get_any(client, truth)
    assert len(client.waits) == 1


@pytest.mark.parametrize("header, expected", [
    ({"retry_after": 3}, 3.0),
    ({"retry_after_ms": 1500}, 1.5),
    ({"retry_after_ms": 250, "retry_after": 9}, 0.25),
])
def test_server_given_waits(api, truth, header, expected):
    rule = {"kind": "rate_limit", "times": 1}
    rule.update(header)
    api.faults(rule)
    with client_for(api) as client:
        assert get_any(client, truth)
    assert client.waits == [expected]


def test_retry_after_as_an_http_date(api, truth):
    api.faults({"kind": "rate_limit", "times": 1, "retry_after": None, "retry_after_date": 5})
    with client_for(api) as client:
        assert get_any(client, truth)
    # An HTTP date has whole seconds: the wait is 4 to 5 seconds from the moment it was read.
    assert len(client.waits) == 1 and 3.0 <= client.waits[0] <= 5.0


def test_a_wait_too_long_falls_back_to_backoff(api, truth):
    api.faults({"kind": "rate_limit", "times": 1, "retry_after": 3600})
    with client_for(api) as client:
        assert get_any(client, truth)
    assert len(client.waits) == 1 and client.waits[0] <= 0.5


def test_retries_exhausted_surface_the_status(api, truth):
    api.faults({"kind": "rate_limit", "retry_after": 1})
    with client_for(api, max_retries=3) as client:
        with pytest.raises(RateLimitedError) as err:
            get_any(client, truth)
    assert err.value.status == 429 and "after 4 attempts" in str(err.value)
    assert client.waits == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("rule", [
    {"kind": "reset", "times": 1},
    {"kind": "reset", "times": 1, "after_bytes": 40},
    {"kind": "truncate", "times": 1},
    {"kind": "stall", "times": 1, "seconds": 3},
])
def test_broken_connections_are_retried(api, truth, rule):
    api.faults(rule)
    with client_for(api, timeout=1) as client:
        entries = list(client.scan(Query(), max_results=150))
    assert ids(entries) == ids(truth.select({}, None))[:150]
    assert len(client.waits) == 1


def test_a_stall_beyond_every_retry_is_a_timeout(api, truth):
    api.faults({"kind": "stall", "seconds": 3})
    with client_for(api, timeout=0.5, max_retries=1) as client:
        with pytest.raises(TransportError) as err:
            get_any(client, truth)
    assert "within 0.5 s" in str(err.value) and "after 2 attempts" in str(err.value)


@pytest.mark.parametrize("body, expected", [
    ("html", "HTML error page"),
    ("empty", "empty response body"),
    ("text", "HTTP 500"),
])
def test_error_bodies_of_every_shape(api, truth, body, expected):
    api.faults({"kind": "status", "status": 500, "body": body})
    with client_for(api, max_retries=0) as client:
        with pytest.raises(ApiError) as err:
            get_any(client, truth)
    assert expected in str(err.value) and err.value.status == 500


def test_invalid_json_on_success_is_a_bad_response(api, truth):
    api.faults({"kind": "invalid_json", "times": 1})
    with client_for(api) as client:
        with pytest.raises(BadResponseError, match="not JSON"):
            first_page(client)
    assert client.waits == []


def test_a_cursor_loop_is_an_error_not_an_endless_scan(api):
    api.faults({"kind": "cursor_loop", "after": 1})
    with client_for(api) as client:
        scan = client.scan(Query(), page_size=50)
        with pytest.raises(BadResponseError, match="already returned"):
            list(scan)
    assert scan.report["pages"] <= 3


def test_an_entry_repeated_across_a_page_boundary_is_yielded_once(api, truth):
    api.faults({"kind": "duplicate", "times": 1})
    with client_for(api) as client:
        scan = client.scan(Query(), max_results=300)
        entries = list(scan)
    assert ids(entries) == ids(truth.select({}, None))[:300]
    assert scan.report["duplicates"] == 1


def test_an_empty_page_with_a_cursor_is_followed_to_the_end(api, truth):
    # The SDKs stop at an empty page; a filtering server may send one mid-list.
    api.faults({"kind": "empty_page", "after": 2, "times": 1},
               {"kind": "empty_page", "after": 6, "times": 1})
    with client_for(api) as client:
        scan = client.scan(Query())
        entries = list(scan)
    assert ids(entries) == ids(truth.select({}, None))
    assert scan.report["complete"] is True and scan.report["incomplete_reason"] is None
    assert scan.report["pages"] == len(entries) // 100 + 2


def test_unknown_fields_are_kept(api, truth):
    api.faults({"kind": "extra_fields", "fields": {"risk_score": 7}})
    with client_for(api) as client:
        entries = first_page(client)
    assert all(e["risk_score"] == 7 for e in entries)
    assert [dict((k, v) for k, v in e.items() if k != "risk_score") for e in entries] == \
        truth.select({}, None)[:10]


def test_a_wrong_total_count_is_reported_as_sent(api, truth):
    api.faults({"kind": "wrong_total", "delta": 5})
    with client_for(api) as client:
        scan = client.scan(Query())
        entries = list(scan)
    assert scan.report["total_count"] == len(entries) + 5


@pytest.mark.parametrize("to", ["other_port", "other_host"])
def test_a_redirect_to_another_origin_is_refused_and_the_key_stays(api, truth, to):
    api.faults({"kind": "redirect", "to": to})
    with client_for(api) as client:
        with pytest.raises(UnsafeRedirectError) as err:
            get_any(client, truth)
    stats = api.stats()
    assert stats["redirect_target"]["requests"] == 0
    assert stats["redirect_target"]["authorization_received"] is False
    assert api.api_key not in str(err.value)


def test_a_same_origin_redirect_is_followed(api, truth):
    target = truth.select({}, None)[0]
    # The emulator keeps the path when it redirects: this is the same URL, once.
    api.faults({"kind": "redirect", "to": api.url, "times": 1})
    with client_for(api) as client:
        assert client.get(target["id"]) == target
    assert [r["status"] for r in api.requests_log()] == [307, 200]


def test_the_key_never_appears_in_any_error(api, truth):
    api.faults({"kind": "status", "status": 500, "message": "bad token %s" % api.api_key})
    with client_for(api, max_retries=0) as client:
        with pytest.raises(AuditLogError) as err:
            get_any(client, truth)
    assert api.api_key not in str(err.value) and "********" in str(err.value)


def test_rate_limited_server_is_waited_for(tmp_path):
    emulator = start_emulator("--rate-limit", "5")
    try:
        with AuditLogClient(emulator.api_key, base_url=emulator.url, max_retries=5) as client:
            entries = list(client.scan(Query(), page_size=100, max_results=1200))
        assert len(entries) == 1200
        assert "429" in emulator.stats()["by_status"]
    finally:
        emulator.stop()
