# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Query: parsing, window resolution, push-down parameters and the client-side predicate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def entry(**fields):
    base = {
        "id": "e1",
        "action": "vm.deleted",
        "actor": {"id": "u1", "name": "Alice Smith", "type": "user"},
        "client_ip": "203.0.113.7",
        "created_at": "2026-11-28T11:00:00Z",
        "method": "DELETE",
        "path": "/v1/compute/vms/abc",
        "status_code": 200,
        "user_agent": "terraform",
        "target": {"id": "vm-1", "type": "vm"},
    }
    base.update(fields)
    return base


@pytest.mark.parametrize("text, expected", [
    ("30m", "2026-11-28T11:30:00Z"),
    ("12h", "2026-11-28T00:00:00Z"),
    ("7d", "2026-11-21T12:00:00Z"),
    ("2w", "2026-11-14T12:00:00Z"),
    ("45s", "2026-11-28T11:59:15Z"),
    ("now", "2026-11-28T12:00:00Z"),
    ("2026-11-01", "2026-11-01T00:00:00Z"),
    ("2026-11-01T08:00:00+02:00", "2026-11-01T06:00:00Z"),
    ("2026-11-01T08:00:00.5Z", "2026-11-01T08:00:00.500000Z"),
    ("2026-11-01T08:00:00.123456789Z", "2026-11-01T08:00:00.123456Z"),
])
def test_since_forms_resolve_once_to_utc(text, expected):
    assert Query(since=text, now=NOW).window["since"] == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days ago", "2026-13-01", "2026-11-01T08:00:00",
                                  "-5d", "5y"])
def test_bad_times_name_the_option_and_the_forms(text):
    with pytest.raises(InvalidOption) as err:
        Query(until=text, now=NOW)
    assert err.value.option == "until"
    assert "RFC 3339" in str(err.value) and "7d" in str(err.value)


def test_empty_window_is_refused():
    with pytest.raises(InvalidOption, match="window is empty"):
        Query(since="1d", until="2d", now=NOW)


def test_window_is_half_open():
    query = Query(since="2026-11-28T10:00:00Z", until="2026-11-28T11:00:00Z", now=NOW)
    assert query.matches(entry(created_at="2026-11-28T10:00:00Z"))
    assert query.matches(entry(created_at="2026-11-28T10:59:59.999999Z"))
    assert not query.matches(entry(created_at="2026-11-28T11:00:00Z"))
    assert not query.matches(entry(created_at="2026-11-28T09:59:59Z"))
    assert not query.matches(entry(created_at="garbage"))


def test_lists_or_within_and_across():
    query = Query(action=["vm.deleted", "volume.deleted"], actor_type=["api_key"], now=NOW)
    key = {"id": "k1", "name": None, "type": "api_key"}
    assert query.matches(entry(actor=key))
    assert query.matches(entry(actor=key, action="volume.deleted"))
    assert not query.matches(entry(actor=key, action="vm.created"))
    assert not query.matches(entry())  # a user, not a key


def test_globs_and_missing_fields():
    query = Query(action=["*.deleted"], target_type=["v?"], now=NOW)
    assert query.matches(entry())
    assert not query.matches(entry(target=None))
    assert not query.matches({k: v for k, v in entry().items() if k != "target"})
    assert not query.matches(entry(action="vm.created"))
    assert Query(actor_name=["Alice*"], now=NOW).matches(entry())
    assert not Query(actor_name=["Alice*"], now=NOW).matches(
        entry(actor={"id": "k", "name": None, "type": "api_key"}))


def test_path_glob_is_whole_path_and_case_insensitive():
    assert Query(path=["/V1/compute/vms/*"], now=NOW).matches(entry())
    assert not Query(path=["/v1/compute/vms"], now=NOW).matches(entry())
    assert Query(path=["*VMS*"], now=NOW).matches(entry())


def test_method_is_case_insensitive_and_validated():
    assert Query(method=["delete"], now=NOW).matches(entry())
    with pytest.raises(InvalidOption, match="method"):
        Query(method=["DEL ETE"], now=NOW)


@pytest.mark.parametrize("spec, inside, outside", [
    ("203.0.113.0/24", "203.0.113.7", "203.0.114.1"),
    ("203.0.113.7", "203.0.113.7", "203.0.113.8"),
    ("2001:db8::/32", "2001:db8:0:1::5", "2001:db9::1"),
    ("2001:DB8::1", "2001:db8::1", "2001:db8::2"),
])
def test_client_ip_addresses_and_cidr(spec, inside, outside):
    query = Query(client_ip=[spec], now=NOW)
    assert query.matches(entry(client_ip=inside))
    assert not query.matches(entry(client_ip=outside))
    assert not query.matches(entry(client_ip="not-an-ip"))


@pytest.mark.parametrize("spec, inside, outside", [
    ("404", 404, 403),
    ("400-499", 499, 500),
    ("5xx", 503, 499),
    ("5XX", 500, 600),
])
def test_status_codes_ranges_classes(spec, inside, outside):
    query = Query(status_code=[spec], now=NOW)
    assert query.matches(entry(status_code=inside))
    assert not query.matches(entry(status_code=outside))


@pytest.mark.parametrize("option, value", [
    ("status_code", ["600"]), ("status_code", ["499-400"]), ("status_code", ["abc"]),
    ("client_ip", ["10.0.0.300"]), ("actor_type", ["robot"]), ("action", [""]),
    ("action", [{"a": 1}]), ("order", "sideways"),
])
def test_invalid_values_name_their_option(option, value):
    with pytest.raises(InvalidOption) as err:
        Query.from_options({option: value}, now=NOW)
    assert err.value.option == option


def test_push_down_only_what_the_server_can_apply_as_a_superset():
    query = Query(since="1h", until="now", action=["vm.deleted"], actor_id=["a", "b"],
                  target_type=["v*"], method=["delete"], path=["/v1/compute/*/restart"],
                  client_ip=["203.0.113.7"], status_code=["404", "5xx"], actor_type=["user"],
                  now=NOW)
    assert query.server_params() == {
        "created_at_min": "2026-11-28T11:00:00Z",
        "created_at_max": "2026-11-28T12:00:00Z",
        "action": "vm.deleted",
        "method": "DELETE",
        "path": "/v1/compute/",
        "client_ip": "203.0.113.7",
        "status_code_min": 404,
        "status_code_max": 599,
        "actor_type": "user",
    }


def test_no_push_down_for_ranges_and_lists():
    query = Query(client_ip=["10.0.0.0/8"], action=["a", "b"], actor_name=["x"], now=NOW)
    assert query.server_params() == {}
    assert Query(client_ip=["2001:DB8::1"], now=NOW).server_params() == {"client_ip": "2001:db8::1"}


def test_fingerprint_binds_filters_not_the_clock():
    one = Query(since="7d", action=["vm.deleted"], now=NOW)
    later = Query(since="7d", action=["vm.deleted"], now=NOW + datetime.timedelta(hours=1))
    other = Query(since="7d", action=["vm.created"], now=NOW)
    assert one.fingerprint() == later.fingerprint()
    assert one.fingerprint() != other.fingerprint()
    assert one.fingerprint() != Query(since="7d", action=["vm.deleted"], order="oldest_first",
                                      now=NOW).fingerprint()


def test_with_window_keeps_filters_and_replaces_the_window():
    query = Query(since="1h", action=["vm.*"], now=NOW)
    moved = query.with_window("2026-11-01T00:00:00Z", None)
    assert moved.window == {"since": "2026-11-01T00:00:00Z", "until": None}
    assert moved.matches(entry(created_at="2026-11-02T00:00:00Z"))
    assert not query.matches(entry(created_at="2026-11-02T00:00:00Z"))
    assert not moved.matches(entry(created_at="2026-11-02T00:00:00Z", action="api_key.created"))


def test_rfc3339_round_trip():
    instant = parse_rfc3339("2026-01-02T03:04:05.000007+00:00")
    assert format_utc(instant) == "2026-01-02T03:04:05.000007Z"
    assert parse_rfc3339("2026-01-02") is None
    assert parse_rfc3339(None) is None


# -- the edges of what Python can represent (issue 11) ----------------------------------------

@pytest.mark.parametrize("option, text, message", [
    ("since", "99999999999w", "'99999999999w' reaches back before 0001-01-01T00:00:00Z"),
    ("since", "110000w", "'110000w' reaches back before 0001-01-01T00:00:00Z"),
    ("since", "0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00' is outside the instants"
                                           " that can be handled (0001-01-01T00:00:00Z to"
                                           " 9999-12-31T23:59:59Z)"),
    ("until", "9999-12-31T23:59:59-01:00", "'9999-12-31T23:59:59-01:00' is outside the instants"),
])
def test_times_beyond_the_representable_are_a_clear_invalid_option(option, text, message):
    with pytest.raises(InvalidOption) as err:
        Query(now=NOW, **{option: text})
    assert err.value.option == option and message in str(err.value)


def test_the_first_and_last_instants_themselves_are_accepted():
    query = Query(since="0001-01-01T00:00:00Z", until="9999-12-31T23:59:59.999999Z", now=NOW)
    assert query.window == {"since": "0001-01-01T00:00:00Z",
                            "until": "9999-12-31T23:59:59.999999Z"}
    assert query.server_params()["created_at_min"] == "0001-01-01T00:00:00Z"
    assert query.matches(entry(created_at="0001-01-01T00:00:00Z"))


@pytest.mark.parametrize("instant, text", [
    (datetime.datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC), "0005-01-02T03:04:05Z"),
    (datetime.datetime(999, 12, 31, 23, 59, 59, 7, tzinfo=UTC), "0999-12-31T23:59:59.000007Z"),
    (datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z"),
])
def test_times_are_formatted_with_four_digit_years(instant, text):
    assert format_utc(instant) == text


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_entry_time_beyond_the_representable_is_no_time(created_at):
    assert parse_rfc3339(created_at) is None
    assert not Query(since="2026-11-01", now=NOW).matches(entry(created_at=created_at))
    assert Query(now=NOW).matches(entry(created_at=created_at))


def test_a_resume_window_beyond_the_representable_is_a_damaged_cursor():
    with pytest.raises(InvalidOption, match="cursor: is damaged"):
        Query(now=NOW).with_window("0001-01-01T00:00:00+01:00", None)
