# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_log_info: argument handling and result shaping, with the client faked at its boundary.

The module runs for real (AnsibleModule, argument validation, exit_json/fail_json writing JSON
to stdout); only ``AuditLogClient`` is replaced, so no request is made. ``Query`` is the real
one: it is pure, and its validation messages are part of what the user sees.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import (
    clear_connection_env,
    patch_client,
    run_module,
    scan_report,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils import ansible_module
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    BadResponseError,
    InvalidOption,
    NotFoundError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_info

API_KEY = "nl-unit-secret-8c1f2e9a77"
ENTRY_A = {"id": "a", "created_at": "2026-11-02T00:00:00Z", "action": "vm.deleted",
           "future_field": [1, 2]}
ENTRY_B = {"id": "b", "created_at": "2026-11-01T00:00:00Z", "action": "vm.deleted"}


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the module with args and a fake client; return (result, raw stdout, client)."""
    clear_connection_env(monkeypatch)

    def runner(args, **client_kwargs):
        with patch_client(audit_log_info, **client_kwargs) as factory:
            result, out = run_module(audit_log_info, args, capsys)
        return result, out, factory.client

    return runner


def base(**args):
    args.setdefault("api_key", API_KEY)
    args.setdefault("base_url", "http://127.0.0.1:8080")
    return args


class TestIdMode:

    def test_returns_the_entry_as_a_list_of_one(self, run):
        result, _out, client = run(base(id="a"), by_id={"a": ENTRY_A})
        assert result["audit_logs"] == [ENTRY_A]
        assert result["total_count"] == 1
        assert result["truncated"] is False
        assert result["next_cursor"] is None
        assert result["changed"] is False
        assert "failed" not in result
        assert client.calls == [("get", "a")]
        assert client.closed

    def test_unknown_id_is_an_empty_list_not_a_failure(self, run):
        result, _out, _client = run(base(id="nope"), by_id={"a": ENTRY_A})
        assert result.get("failed") is not True
        assert result["audit_logs"] == []
        assert result["total_count"] == 0

    def test_id_is_passed_unchanged_for_the_client_to_encode(self, run):
        _result, _out, client = run(base(id="../api_keys?x=1#y"))
        assert client.calls == [("get", "../api_keys?x=1#y")]

    @pytest.mark.parametrize("option, value", [
        ("since", "7d"), ("until", "1d"), ("action", ["vm.deleted"]), ("actor_id", ["u"]),
        ("actor_name", ["Alice"]), ("actor_type", ["user"]), ("target_id", ["t"]),
        ("target_type", ["vm"]), ("method", ["GET"]), ("path", ["/v1/*"]),
        ("client_ip", ["10.0.0.0/8"]), ("status_code", ["5xx"]), ("page_size", 50),
        ("max_results", 5), ("order", "oldest_first"), ("cursor", "nla1.x"),
    ])
    def test_id_excludes_every_list_option_and_the_error_names_both(self, run, option, value):
        args = base(id="a")
        args[option] = value
        result, _out, client = run(args)
        assert result["failed"] is True
        assert "mutually exclusive" in result["msg"]
        assert "id" in result["msg"] and option in result["msg"]
        assert client is None  # nothing was sent

    def test_every_list_option_is_covered_by_the_exclusion(self):
        assert set(audit_log_info.LIST_OPTIONS) == (
            set(FILTER_OPTIONS) | set(READ_OPTIONS) | {"cursor"})


class TestListMode:

    def test_query_and_paging_options_reach_the_client(self, run):
        args = base(since="2026-11-01T00:00:00Z", until="2026-12-01", action=["vm.deleted"],
                    actor_type=["user", "api_key"], method=["delete"], status_code=["2xx"],
                    page_size=50, max_results=10, cursor=None, order="newest_first")
        result, _out, client = run(args, entries=[ENTRY_A, ENTRY_B])
        (name, query, page_size, max_results, cursor), = client.calls
        assert name == "scan"
        assert (page_size, max_results, cursor) == (50, 10, None)
        assert query.window == {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
        assert query.order == "newest_first"
        assert query.matches(ENTRY_A) is False  # no actor/method/status in ENTRY_A
        assert query.server_params()["action"] == "vm.deleted"
        assert result["audit_logs"] == [ENTRY_A, ENTRY_B]

    def test_defaults_page_size_100_no_cap_newest_first(self, run):
        _result, _out, client = run(base())
        (_name, query, page_size, max_results, cursor), = client.calls
        assert (page_size, max_results, cursor, query.order) == (100, None, None, "newest_first")

    def test_connection_options_go_to_the_client_only(self, run):
        _result, _out, client = run(base(timeout=5, max_retries=0, validate_certs=False,
                                         ca_path="/tmp/ca.pem", use_proxy=False))
        assert client.options == {
            "api_key": API_KEY, "base_url": "http://127.0.0.1:8080", "timeout": 5.0,
            "validate_certs": False, "ca_path": "/tmp/ca.pem", "max_retries": 0,
            "use_proxy": False, "max_body_bytes": 32 * 1024 * 1024,
        }

    def test_result_carries_the_report(self, run):
        window = {"since": "2026-11-01T00:00:00Z", "until": None}
        report = scan_report(total_count=40, window=window, stopped_early=True,
                             stop_reason="reached an entry beyond since",
                             pushed_down={"action": "vm.deleted"})
        result, _out, _client = run(base(since="2026-11-01"), entries=[ENTRY_A],
                                    report=report)
        assert result["total_count"] == 40
        assert result["window"] == {"since": "2026-11-01T00:00:00Z", "until": None}
        assert result["scan"]["stopped_early"] is True
        assert result["scan"]["stop_reason"] == "reached an entry beyond since"
        assert result["scan"]["pushed_down"] == {"action": "vm.deleted"}
        assert result["scan"]["order"]["observed"] == "newest_first"
        assert result["_warned"] == []

    def test_entries_resorted_when_the_server_ignored_the_order(self, run):
        report = scan_report(order={"requested": "oldest_first", "sort_sent": "created_at:asc",
                                    "observed": "newest_first"})
        result, _out, _client = run(base(order="oldest_first"),
                                    entries=[ENTRY_A, ENTRY_B], report=report)
        assert [e["id"] for e in result["audit_logs"]] == ["b", "a"]
        assert result["scan"]["client_sorted"] is True

    def test_a_deliberate_max_results_keeps_truncated_without_a_warning(self, run):
        report = scan_report(truncated=True, next_cursor="nla1.resume-here", matched=1,
                             complete=None, incomplete_reason="stopped at max_results=1 as asked")
        result, _out, _client = run(base(max_results=1), entries=[ENTRY_A], report=report)
        assert result["truncated"] is True
        assert result["next_cursor"] == "nla1.resume-here"
        assert result["complete"] is None
        assert result["_warned"] == []

    def test_a_known_incomplete_list_says_so_and_warns_with_the_reason(self, run):
        reason = ("the server said 1200 entries match the request (total_count) but sent 100;"
                  " the result cannot be the whole answer")
        report = scan_report(complete=False, incomplete_reason=reason, total_count=1200)
        result, _out, _client = run(base(), entries=[ENTRY_A], report=report)
        assert not result.get("failed")
        assert result["complete"] is False and result["incomplete_reason"] == reason
        assert result["_warned"] == ["the result is not complete: " + reason]

    def test_a_guard_stop_returns_a_cursor_and_warns(self, run):
        reason = "stopped after max_pages=2 pages; the server has more (resume with next_cursor)"
        report = scan_report(complete=False, incomplete_reason=reason, stopped_by="max_pages",
                             next_cursor="nla1.more")
        result, _out, client = run(base(max_pages=2, scan_timeout=30), entries=[ENTRY_A],
                                   report=report)
        assert client.guards == (2, 30.0)
        assert result["next_cursor"] == "nla1.more" and result["complete"] is False
        assert result["_warned"] == ["the result is not complete: " + reason]

    @pytest.mark.parametrize("args,message", [
        ({"max_pages": 0}, "max_pages: must be a whole number of at least 1"),
        ({"scan_timeout": 0}, "scan_timeout: must be a number above 0"),
        ({"max_body_bytes": 10}, "max_body_bytes: must be a whole number of at least 1024"),
    ])
    def test_guard_bounds(self, run, args, message):
        result, _out, client = run(base(**args))
        assert result["failed"] is True and result["msg"] == message
        assert client is None

    def test_cursor_is_passed_through(self, run):
        _result, _out, client = run(base(cursor="nla1.abc"))
        assert client.calls[0][4] == "nla1.abc"

    def test_check_mode_does_the_same_read(self, run):
        args = base(_ansible_check_mode=True, since="7d")
        result, _out, client = run(args, entries=[ENTRY_A])
        assert [c[0] for c in client.calls] == ["scan"]
        assert result["audit_logs"] == [ENTRY_A]
        assert result["changed"] is False


class TestValidation:

    @pytest.mark.parametrize("option, value, expected", [
        ("since", "yesterday", "since: 'yesterday' is not a time"),
        ("until", "2026-13-01", "until:"),
        ("status_code", ["600"], "status_code:"),
        ("client_ip", ["10.0.0.300"], "client_ip:"),
        ("method", ["GET POST"], "method:"),
    ])
    def test_bad_values_name_the_option(self, run, option, value, expected):
        args = base()
        args[option] = value
        result, _out, client = run(args)
        assert result["failed"] is True
        assert expected in result["msg"]
        assert client.calls == []  # refused before any request

    @pytest.mark.parametrize("option, value", [("order", "random"), ("actor_type", ["robot"])])
    def test_choices_are_enforced_by_ansible(self, run, option, value):
        args = base()
        args[option] = value
        result, _out, client = run(args)
        assert result["failed"] is True
        assert option in result["msg"]
        assert client is None

    def test_a_refusal_of_the_client_is_a_clean_failure(self, run):
        result, _out, _client = run(base(page_size=5),
                                    construct_error=None, error=InvalidOption(
                                        "page_size", "must be a whole number from 10 to 100"))
        assert result["failed"] is True
        assert result["msg"] == "page_size: must be a whole number from 10 to 100"
        assert "status" not in result
        assert "exception" not in result

    def test_invalid_connection_option_fails_before_any_request(self, run):
        err = InvalidOption("base_url", "plain http:// is only allowed to a loopback address")
        result, _out, client = run(base(base_url="http://example.com"), construct_error=err)
        assert result["msg"].startswith("base_url: plain http://")
        assert client is None

    def test_api_key_is_required(self, run):
        args = base()
        del args["api_key"]
        result, _out, client = run(args)
        assert result["failed"] is True
        assert result["msg"] == (
            "api_key: required; set the api_key option (for all modules of the collection at"
            " once with module_defaults group/nirvana_labs.audit.audit, fed from the variable"
            " nirvana_labs_api_key) or the environment variable NIRVANA_LABS_API_KEY")
        assert client is None

    def test_api_key_falls_back_to_the_environment(self, run, monkeypatch):
        monkeypatch.setenv("NIRVANA_LABS_API_KEY", "from-env-key-123")
        monkeypatch.setenv("NIRVANA_LABS_BASE_URL", "https://audit.example.test")
        result, _out, client = run({"id": "a"}, by_id={"a": ENTRY_A})
        assert client.options["api_key"] == "from-env-key-123"
        assert client.options["base_url"] == "https://audit.example.test"
        assert result["audit_logs"] == [ENTRY_A]


class TestFailures:

    @pytest.mark.parametrize("error, status", [
        (AuthError("the API refused the API key (HTTP 401): unauthorized", 401), 401),
        (ApiError("the API answered HTTP 503: down (after 3 attempts)", 503), 503),
        (TransportError("connection to 127.0.0.1:9 failed: refused"), None),
        (BadResponseError("the API answered with a page that has no 'items' list"), None),
    ])
    def test_client_errors_become_fail_json_with_status(self, run, error, status):
        result, _out, _client = run(base(since="1d"), error=error)
        assert result["failed"] is True
        assert result["msg"] == str(error)
        assert result.get("status") == status
        assert "exception" not in result

    def test_error_during_iteration_is_a_clean_failure(self, run):
        err = ApiError("the API answered HTTP 500: boom (after 3 attempts)", 500)
        result, _out, _client = run(base(), entries=[ENTRY_A], scan_error=err)
        assert result["failed"] is True
        assert result["status"] == 500
        assert "audit_logs" not in result

    def test_not_found_in_list_mode_is_a_failure(self, run):
        # Only an id lookup turns 404 into "no entry"; a 404 on the list is a wrong base_url.
        err = NotFoundError("not found (HTTP 404): no route", 404)
        result, _out, _client = run(base(), error=err)
        assert result["failed"] is True and result["status"] == 404

    def test_missing_requests_uses_the_standard_message(self, run, monkeypatch):
        monkeypatch.setattr(ansible_module, "HAS_REQUESTS", False)
        monkeypatch.setattr(ansible_module, "REQUESTS_IMPORT_ERROR", "Traceback: no requests")
        result, _out, client = run(base(id="a"))
        assert result["failed"] is True
        assert "requests" in result["msg"]
        assert "Failed to import the required Python library" in result["msg"]
        assert client is None


class TestSecrecy:

    def test_key_absent_from_success_output(self, run):
        _result, out, _client = run(base(since="1d"), entries=[ENTRY_A])
        assert API_KEY not in out

    def test_key_absent_from_failure_output_even_if_an_error_echoed_it(self, run):
        # The library scrubs the key; no_log masks it again should a message ever carry it.
        err = AuthError("the API refused the API key (HTTP 401): bad key %s" % API_KEY, 401)
        result, out, _client = run(base(id="a"), error=err)
        assert result["failed"] is True
        assert API_KEY not in out


class TestFields:

    def test_only_the_listed_fields_are_returned_after_filtering(self, run):
        nested = dict(ENTRY_A, actor={"name": "Ada", "id": "u1"})
        result, _out, client = run(base(fields=["id", "actor.name", "missing.path"],
                                        action=["vm.deleted"]),
                                   entries=[nested, ENTRY_B])
        assert result["audit_logs"] == [{"id": "a", "actor": {"name": "Ada"}}, {"id": "b"}]
        (_name, query, _size, _max, _cursor), = client.calls
        assert query.server_params()["action"] == "vm.deleted"  # filters still see whole entries

    def test_fields_apply_to_id_mode(self, run):
        result, _out, _client = run(base(id="a", fields=["action"]), by_id={"a": ENTRY_A})
        assert result["audit_logs"] == [{"action": "vm.deleted"}]

    def test_the_parallelism_reaches_the_client(self, run):
        _result, _out, client = run(base(parallelism=3))
        assert client.parallelism == 3

    @pytest.mark.parametrize("fields", [[""], ["actor..name"], [".id"]])
    def test_a_malformed_field_is_a_clean_failure(self, run, fields):
        result, _out, _client = run(base(fields=fields))
        assert result["failed"] is True and "fields" in result["msg"]
