# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Result shaping: ordering on the client, the list and id results, the truncation warning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import results
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import scan_report
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption


def entry(entry_id, created_at, **extra):
    data = {"id": entry_id, "created_at": created_at, "action": "vm.created"}
    data.update(extra)
    return data


def report(requested="newest_first", observed="newest_first", **overrides):
    values = {
        "pages": 2,
        "scanned": 150,
        "matched": 3,
        "duplicates": 1,
        "total_count": 150,
        "pushed_down": {"action": "vm.created"},
        "window": {"since": "2026-11-01T00:00:00Z", "until": None},
        "order": {"requested": requested, "sort_sent": "created_at:desc", "observed": observed},
        "parallel": {"used": False, "reason": "parallelism is 1", "probes": 0},
    }
    values.update(overrides)
    return scan_report(**values)


class TestSortEntries:

    def test_newest_first_by_time_then_id(self):
        entries = [
            entry("a", "2026-11-01T10:00:00Z"),
            entry("c", "2026-11-01T12:00:00Z"),
            entry("b", "2026-11-01T12:00:00Z"),
            entry("d", "2026-11-01T11:00:00Z"),
        ]
        ids = [e["id"] for e in results.sort_entries(entries, "newest_first")]
        assert ids == ["c", "b", "d", "a"]

    def test_oldest_first_is_the_exact_reverse(self):
        entries = [entry(str(i), "2026-11-0%dT00:00:00Z" % (1 + i % 5)) for i in range(20)]
        random.Random(3).shuffle(entries)
        newest = results.sort_entries(entries, "newest_first")
        oldest = results.sort_entries(entries, "oldest_first")
        assert oldest == list(reversed(newest))

    def test_offsets_and_fractions_compare_as_instants_not_text(self):
        # As text, "2026-11-01T09:30:00+02:00" sorts after "2026-11-01T08:00:00Z", but it is
        # 07:30 UTC, half an hour earlier; "...00.5Z" is half a second after "...00Z".
        entries = [
            entry("utc8", "2026-11-01T08:00:00Z"),
            entry("plus2", "2026-11-01T09:30:00+02:00"),
            entry("half", "2026-11-01T08:00:00.5Z"),
            entry("micro", "2026-11-01T08:00:00.000001Z"),
        ]
        ids = [e["id"] for e in results.sort_entries(entries, "oldest_first")]
        assert ids == ["plus2", "utc8", "micro", "half"]

    @pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
    def test_entries_without_a_time_come_last_in_their_order(self, order):
        entries = [
            entry("x", None),
            entry("a", "2026-11-01T00:00:00Z"),
            {"id": "y"},
            entry("b", "2026-11-02T00:00:00Z"),
            entry("z", "yesterday"),
        ]
        ids = [e["id"] for e in results.sort_entries(entries, order)]
        timed = ["b", "a"] if order == "newest_first" else ["a", "b"]
        assert ids == timed + ["x", "y", "z"]

    def test_unknown_order_is_refused(self):
        with pytest.raises(ValueError, match="newest_first"):
            results.sort_entries([], "random")


class TestOrderedEntries:

    def test_kept_as_sent_when_the_server_honoured_the_order(self):
        # Deliberately not sorted: proves no client sort happens when observed == requested.
        entries = [entry("a", "2026-11-01T00:00:00Z"), entry("b", "2026-11-02T00:00:00Z")]
        assert results.ordered_entries(iter(entries), report()) == entries

    @pytest.mark.parametrize("observed", ["oldest_first", "unordered", "unknown", None])
    def test_sorted_when_the_server_order_differs(self, observed):
        entries = [entry("a", "2026-11-01T00:00:00Z"), entry("b", "2026-11-02T00:00:00Z"),
                   entry("c", "2026-10-01T00:00:00Z")]
        shaped = results.ordered_entries(entries, report(observed=observed))
        assert [e["id"] for e in shaped] == ["b", "a", "c"]

    def test_oldest_first_requested_over_a_newest_first_server(self):
        entries = [entry("b", "2026-11-02T00:00:00Z"), entry("a", "2026-11-01T00:00:00Z")]
        shaped = results.ordered_entries(entries, report("oldest_first", "newest_first"))
        assert [e["id"] for e in shaped] == ["a", "b"]


class TestListResult:

    def test_keys_and_values_come_from_the_report(self):
        entries = [entry("b", "2026-11-02T00:00:00Z", extra_field={"kept": True}),
                   entry("a", "2026-11-01T00:00:00Z")]
        shaped = results.list_result(entries, report(truncated=True, next_cursor="nla1.abc"))
        assert shaped["audit_logs"] == entries
        assert shaped["audit_logs"][0]["extra_field"] == {"kept": True}
        assert shaped["total_count"] == 150
        assert shaped["truncated"] is True
        assert shaped["next_cursor"] == "nla1.abc"
        assert shaped["window"] == {"since": "2026-11-01T00:00:00Z", "until": None}
        assert shaped["scan"] == {
            "pages": 2,
            "scanned": 150,
            "matched": 3,
            "duplicates": 1,
            "pushed_down": {"action": "vm.created"},
            "stopped_early": False,
            "stop_reason": None,
            "resumed": False,
            "order": {"requested": "newest_first", "sort_sent": "created_at:desc",
                      "observed": "newest_first"},
            "parallel": {"used": False, "reason": "parallelism is 1", "probes": 0},
            "client_sorted": False,
        }

    def test_no_cursor_unless_truncated(self):
        shaped = results.list_result([], report(truncated=False, next_cursor="stale"))
        assert shaped["next_cursor"] is None
        assert shaped["truncated"] is False

    def test_result_does_not_alias_the_report(self):
        source = report()
        shaped = results.list_result([], source)
        shaped["scan"]["pushed_down"]["x"] = 1
        shaped["scan"]["order"]["observed"] = "changed"
        assert "x" not in source["pushed_down"]
        assert source["order"]["observed"] == "newest_first"

    def test_client_sorted_is_reported(self):
        shaped = results.list_result([entry("a", "2026-11-01T00:00:00Z")],
                                     report(observed="unknown"))
        assert shaped["scan"]["client_sorted"] is True

    def test_missing_report_keys_do_not_break_shaping(self):
        shaped = results.list_result([], {})
        assert shaped["window"] == {"since": None, "until": None}
        assert shaped["scan"]["pushed_down"] == {}
        assert shaped["scan"]["stopped_early"] is False
        assert shaped["total_count"] is None


class TestIdResult:

    def test_found(self):
        found = entry("a", "2026-11-01T00:00:00Z")
        assert results.id_result(found) == {"audit_logs": [found], "total_count": 1,
                                            "truncated": False, "next_cursor": None}

    def test_missing_is_an_empty_list(self):
        assert results.id_result(None) == {"audit_logs": [], "total_count": 0,
                                           "truncated": False, "next_cursor": None}


class TestTruncationWarning:

    def test_silent_when_complete(self):
        assert results.truncation_warning(report()) is None

    def test_silent_for_a_deliberate_cap_in_the_requested_order(self):
        assert results.truncation_warning(report(truncated=True, next_cursor="nla1.x")) is None

    def test_warns_when_the_first_n_may_not_be_the_first_in_the_requested_order(self):
        text = results.truncation_warning(report("oldest_first", "newest_first", truncated=True))
        assert "did not return the entries in the requested order (oldest_first)" in text


class TestCompletenessWarning:

    def test_silent_when_complete(self):
        assert results.completeness_warning(report(complete=True)) is None

    @pytest.mark.parametrize("why", [{"truncated": True}, {"resumed": True},
                                     {"stopped_early": True}])
    def test_silent_when_unknown_by_choice_or_exact_by_order(self, why):
        assert results.completeness_warning(
            report(complete=None, incomplete_reason="whatever", **why)) is None

    def test_known_incomplete_carries_the_reason(self):
        assert results.completeness_warning(
            report(complete=False, incomplete_reason="sent 100 of 1200")) == (
            "the result is not complete: sent 100 of 1200")

    def test_unknown_without_a_count_says_it_cannot_be_checked(self):
        assert results.completeness_warning(
            report(complete=None, incomplete_reason="the server sent no total_count")) == (
            "the result may not be complete (it cannot be checked): the server sent no"
            " total_count")

    def test_list_result_carries_completeness_and_a_guard_cursor(self):
        shaped = results.list_result([], report(complete=False, incomplete_reason="r",
                                                stopped_by="deadline", next_cursor="nla1.y"))
        assert (shaped["complete"], shaped["incomplete_reason"]) == (False, "r")
        assert shaped["next_cursor"] == "nla1.y" and shaped["truncated"] is False


class TestFields:

    def test_dotted_paths_keep_the_nesting_and_skip_what_is_missing(self):
        entry_ = {"id": "x", "actor": {"name": "Ada", "type": "user"}, "status_code": 200,
                  "target": None}
        paths = results.field_paths(["actor.name", "status_code", "target.id", "nope"])
        assert results.project(entry_, paths) == {"actor": {"name": "Ada"}, "status_code": 200}

    def test_two_paths_under_one_parent_share_it(self):
        paths = results.field_paths(["actor.name", "actor.type"])
        assert results.project({"actor": {"name": "A", "type": "user", "id": "1"}}, paths) == \
            {"actor": {"name": "A", "type": "user"}}

    def test_unset_returns_the_entries_themselves(self):
        entries = [{"id": "x"}]
        assert results.project_all(entries, results.field_paths(None)) is entries

    @pytest.mark.parametrize("fields", [[], [""], ["a..b"], [None]])
    def test_malformed_fields_are_refused(self, fields):
        with pytest.raises(InvalidOption):
            results.field_paths(fields)
