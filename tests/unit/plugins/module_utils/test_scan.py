# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scanning against the emulator: every filter on both API generations compared with the
emulator's ground truth, push-down read from its request log, early stop, resume, and the
page-level faults (duplicates, cursor loops, empty pages)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import fnmatch
import ipaddress
from urllib.parse import parse_qs

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    NOW_DT,
    client_for,
    ids,
    run,
)


def newest_first(entries):
    return sorted(entries, key=lambda e: (e["created_at"], e["id"]), reverse=True)


def union(truth, name, values):
    """OR over values, from the emulator's own single-value filter (independent of ours)."""
    found = {}
    for value in values:
        for entry in truth.select({name: value}, None):
            found[entry["id"]] = entry
    return newest_first(found.values())


def distinct(truth, read):
    return collections.Counter(read(e) for e in truth.select({}, None))


def list_requests(emulator):
    return [r for r in emulator.requests_log() if r["path"] == "/v1/audit_logs"]


def query_of(record):
    return dict((k, v[0]) for k, v in parse_qs(record["query"]).items())


def test_full_scan_returns_every_entry_once_in_order(emulator, truth):
    entries, report = run(emulator, {})
    expected = truth.select({}, None)
    assert ids(entries) == ids(expected)
    assert report["total_count"] == len(expected)
    assert report["pages"] == -(-len(expected) // 100)
    assert report["scanned"] == report["matched"] == len(expected)
    assert not report["truncated"] and not report["stopped_early"]
    assert report["order"]["observed"] == "newest_first"


def test_single_exact_filters_match_ground_truth(emulator, truth):
    actions = distinct(truth, lambda e: e["action"])
    action = actions.most_common(3)[-1][0]
    entries, report = run(emulator, {"action": [action]})
    assert ids(entries) == ids(truth.select({"action": action}, None))
    assert len(entries) > 0


def test_lists_are_or_within_and_across(emulator, truth):
    actions = [pair[0] for pair in distinct(truth, lambda e: e["action"]).most_common(4)[1:]]
    expected = [e for e in union(truth, "action", actions) if e["actor"]["type"] == "api_key"]
    entries = run(emulator, {"action": actions, "actor_type": ["api_key"]})[0]
    assert ids(entries) == ids(expected)
    assert expected, "the data set should hold API-key calls of common actions"


def test_glob_on_actions(emulator, truth):
    names = [a for a in distinct(truth, lambda e: e["action"]) if fnmatch.fnmatchcase(a, "*.deleted")]
    entries = run(emulator, {"action": ["*.deleted"]})[0]
    assert ids(entries) == ids(union(truth, "action", names))
    assert len(names) > 1


def test_path_glob_case_insensitive(emulator, truth):
    paths = [p for p in distinct(truth, lambda e: e["path"])
             if fnmatch.fnmatchcase(p.lower(), "/v1/compute/vms/*")]
    expected = newest_first([e for e in truth.select({}, None) if e["path"] in paths])
    entries = run(emulator, {"path": ["/V1/Compute/VMs/*"]})[0]
    assert ids(entries) == ids(expected) and expected


def test_client_ip_cidr_v4_and_v6(emulator, truth):
    everything = truth.select({}, None)
    v6 = [e for e in everything if ":" in e["client_ip"]]
    assert v6, "the data set should hold IPv6 callers"
    v4 = ipaddress.ip_address([e for e in everything if ":" not in e["client_ip"]][0]["client_ip"])
    net4 = ipaddress.ip_network("%s/16" % v4, strict=False)
    net6 = ipaddress.ip_network("%s/48" % v6[0]["client_ip"], strict=False)
    expected = [e for e in everything
                if ipaddress.ip_address(e["client_ip"]) in net4
                or ipaddress.ip_address(e["client_ip"]) in net6]
    entries = run(emulator, {"client_ip": [str(net4), str(net6)]})[0]
    assert ids(entries) == ids(expected)


def test_status_classes_and_ranges(emulator, truth):
    expected = newest_first(
        truth.select({"status_code_min": 500, "status_code_max": 599}, None)
        + truth.select({"status_code_min": 404, "status_code_max": 404}, None))
    entries, report = run(emulator, {"status_code": ["5xx", "404"]})
    assert ids(entries) == ids(expected) and expected


def test_window_is_half_open_and_resolved(emulator, truth):
    since, until = "2026-11-27T00:00:00Z", "2026-11-27T12:00:00Z"
    expected = [e for e in truth.select({"created_at_min": since, "created_at_max": until}, None)
                if e["created_at"] < until]
    entries, report = run(emulator, {"since": since, "until": until})
    assert ids(entries) == ids(expected) and expected
    assert report["window"] == {"since": since, "until": until}


def test_combination_with_client_only_filters(emulator, truth):
    everything = truth.select({}, None)
    named = [e for e in everything if e["actor"]["type"] == "user"]
    name = named[0]["actor"]["name"]
    expected = [e for e in everything
                if e["actor"]["name"] == name and e["method"] in ("POST", "DELETE")
                and e["created_at"] >= "2026-11-20T00:00:00Z"]
    entries = run(emulator, {"actor_name": [name], "method": ["post", "delete"], "since": "8d"})[0]
    assert ids(entries) == ids(expected) and expected


def test_target_filters_skip_entries_without_target(emulator, truth):
    everything = truth.select({}, None)
    assert any(not e.get("target") for e in everything), "some entries should have no target"
    entries = run(emulator, {"target_type": ["vm", "volume"]})[0]
    assert ids(entries) == ids(union(truth, "target_type", ["vm", "volume"]))


def test_push_down_parameters_are_sent(api, truth):
    run(api, {"action": ["vm.deleted"], "since": "2d", "status_code": ["4xx"],
              "client_ip": ["10.0.0.0/8"], "method": ["DELETE", "PATCH"]})
    sent = query_of(list_requests(api)[0])
    assert sent == {"limit": "100", "action": "vm.deleted", "created_at_min": "2026-11-26T12:00:00Z",
                    "status_code_min": "400", "status_code_max": "499",
                    "sort": "created_at:desc"}


def test_push_down_fetches_fewer_pages_for_the_same_answer(api, truth):
    pushed, pushed_report = run(api, {"action": ["vm.deleted"]})
    plain, plain_report = run(api, {"action": ["vm.deleted"]}, push_down=False)
    assert ids(pushed) == ids(plain) == ids(truth.select({"action": "vm.deleted"}, None))
    assert pushed_report["pages"] == -(-len(pushed) // 100)
    assert plain_report["pages"] == -(-len(truth.select({}, None)) // 100)
    assert pushed_report["pushed_down"] == {"action": "vm.deleted"}
    assert plain_report["pushed_down"] == {}


def test_early_stop_on_a_seed_server_only_when_order_holds(emulator_seed, truth):
    emulator_seed.reset()
    expected = [e for e in truth.select({}, None) if e["created_at"] >= "2026-11-28T06:00:00Z"]
    entries, report = run(emulator_seed, {"since": "6h"})
    assert ids(entries) == ids(expected)
    assert report["stopped_early"] is True and "since" in report["stop_reason"]
    assert report["pages"] == len(expected) // 100 + 1
    full, full_report = run(emulator_seed, {"since": "6h"}, early_stop=False)
    assert ids(full) == ids(expected)
    assert full_report["stopped_early"] is False
    assert full_report["pages"] == -(-len(truth.select({}, None)) // 100)


def test_no_early_stop_when_the_server_ignores_the_requested_order(emulator_seed, truth):
    emulator_seed.reset()
    expected = [e for e in truth.select({}, None) if e["created_at"] < "2026-11-27T00:00:00Z"]
    entries, report = run(emulator_seed, {"until": "2026-11-27T00:00:00Z", "order": "oldest_first"})
    # The seed server sent newest first although oldest first was asked: nothing may be skipped.
    assert sorted(ids(entries)) == sorted(ids(expected))
    assert report["stopped_early"] is False
    assert report["order"] == {"requested": "oldest_first", "sort_sent": "created_at:asc",
                               "observed": "newest_first"}


def test_oldest_first_on_a_filtering_server(api, truth):
    entries, report = run(api, {"until": "2026-11-22T00:00:00Z", "order": "oldest_first"})
    expected = truth.select({"created_at_max": "2026-11-22T00:00:00Z"}, "created_at:asc")
    expected = [e for e in expected if e["created_at"] < "2026-11-22T00:00:00Z"]
    assert ids(entries) == ids(expected) and expected
    assert report["order"]["observed"] == "oldest_first"


@pytest.mark.parametrize("limit", [1, 7, 100, 150])
def test_max_results_and_resume_lose_and_repeat_nothing(emulator, truth, limit):
    expected = ids(truth.select({"actor_type": "api_key"}, None))
    seen, cursor, calls = [], None, 0
    while True:
        entries, report = run(emulator, {"actor_type": ["api_key"]}, max_results=limit,
                              cursor=cursor, page_size=40)
        calls += 1
        assert len(entries) <= limit
        seen.extend(ids(entries))
        if not report["truncated"]:
            assert report["next_cursor"] is None
            break
        assert len(entries) == limit
        cursor = report["next_cursor"]
        assert calls <= len(expected) + 1
    assert seen == expected


def test_resume_keeps_the_resolved_window(api, truth):
    query = Query.from_options({"since": "1d"}, now=NOW_DT)
    with client_for(api) as client:
        first = client.scan(query, max_results=5)
        list(first)
        later = Query.from_options({"since": "1d"}, now=NOW_DT + datetime.timedelta(hours=3))
        resumed = client.scan(later, cursor=first.report["next_cursor"])
        rest = list(resumed)
    assert resumed.report["window"] == first.report["window"]
    expected = truth.select({"created_at_min": "2026-11-27T12:00:00Z"}, None)
    assert ids(rest) == ids(expected)[5:]


def test_resume_with_other_filters_is_refused(api):
    report = run(api, {"action": ["vm.deleted"]}, max_results=2)[1]
    with pytest.raises(InvalidOption) as err:
        run(api, {"action": ["vm.created"]}, cursor=report["next_cursor"])
    assert err.value.option == "cursor"
    with pytest.raises(InvalidOption, match="damaged"):
        run(api, {"action": ["vm.deleted"]}, cursor=report["next_cursor"][:-3] + "!!!")
    with pytest.raises(InvalidOption, match="not a cursor"):
        run(api, {}, cursor="eyJhcGkiOiJjdXJzb3IifQ")


@pytest.mark.parametrize("page_size", [9, 101, 0, "50"])
def test_page_size_is_validated_before_any_request(api, page_size):
    with pytest.raises(InvalidOption, match="page_size"):
        run(api, {}, page_size=page_size)
    assert list_requests(api) == []


# -- completeness (issue 11) -------------------------------------------------------------------

def test_a_whole_scan_is_complete_even_with_client_only_filters(emulator, truth):
    # actor_name is a client-side-only filter: the count compared is what the server sent.
    entries, report = run(emulator, {"actor_name": "*a*", "status_code": "2xx"})
    assert entries and report["complete"] is True and report["incomplete_reason"] is None


def test_completeness_is_unknown_after_an_early_stop(emulator_seed):
    emulator_seed.reset()
    dummy, report = run(emulator_seed, {"since": "6h"})
    assert report["stopped_early"] is True and report["complete"] is None
    assert report["incomplete_reason"].startswith("stopped early: reached an entry beyond since=")


def test_completeness_is_unknown_at_max_results_and_after_a_resume(api, truth):
    dummy, first = run(api, {}, max_results=150)
    assert first["complete"] is None and first["incomplete_reason"] == (
        "stopped at max_results=150 as asked; resume with next_cursor for the rest")
    rest, second = run(api, {}, cursor=first["next_cursor"])
    assert len(rest) == len(truth.select({}, None)) - 150
    assert second["complete"] is None and second["incomplete_reason"].startswith(
        "resumed from a cursor")


@pytest.mark.parametrize("option, value, message", [
    ("max_pages", 0, "max_pages: must be a whole number of at least 1"),
    ("max_pages", True, "max_pages: must be a whole number of at least 1"),
    ("deadline", 0, "deadline: must be a number of seconds above 0"),
    ("deadline", float("nan"), "deadline: must be a number of seconds above 0"),
])
def test_guards_are_validated_before_any_request(api, option, value, message):
    with client_for(api) as client:
        with pytest.raises(InvalidOption) as err:
            client.scan(Query(), **{option: value})
    assert str(err.value) == message
    assert api.requests_log() == []
