# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit_log lookup: option loading and precedence, ids and list mode, errors.

The plugin is loaded through Ansible's plugin loader (its options come from its docs and the
shared fragments); only ``AuditLogClient`` is faked, so no request is made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import shutil
import sys
import tempfile

import pytest

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleLookupError

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    InvalidOption,
    NotFoundError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    DEFAULT_BASE_URL,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import (
    FakeClient,
    clear_connection_env,
    patch_client,
    scan_report,
)

API_KEY = "nl-lookup-secret-2b7e151628"
ENTRIES = {
    "a": {"id": "a", "created_at": "2026-11-03T00:00:00Z", "action": "vm.deleted"},
    "b": {"id": "b", "created_at": "2026-11-02T00:00:00Z", "action": "vm.created"},
    "c": {"id": "c", "created_at": "2026-11-01T00:00:00Z", "action": "api_key.deleted"},
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    clear_connection_env(monkeypatch)


@pytest.fixture
def plugin_module(lookup_plugin):
    return sys.modules[type(lookup_plugin).__module__]


@pytest.fixture
def fake(plugin_module):
    """Replace the client; ``fake.configure(**kwargs)`` sets what the next client does, and
    ``get`` finds ENTRIES."""
    with patch_client(plugin_module, by_id=ENTRIES) as factory:
        yield factory


@pytest.fixture
def warnings(plugin_module, monkeypatch):
    seen = []
    monkeypatch.setattr(plugin_module.display, "warning", lambda msg, *a, **k: seen.append(msg))
    return seen


@pytest.fixture
def ini_file(tmp_path, monkeypatch):
    """Point Ansible's configuration at an ansible.cfg of the test's making."""
    def write(text):
        path = tmp_path / "ansible.cfg"
        path.write_text(text)
        monkeypatch.setattr(C.config, "_config_file", str(path))
        C.config._parse_config_file(str(path))
    return write


class TestPrecedence:
    """kwargs > Ansible variables > environment > ansible.cfg > default, per option."""

    def test_default(self, lookup_plugin, fake):
        lookup_plugin.run(["a"], variables={}, api_key=API_KEY)
        assert fake.client.options["base_url"] == DEFAULT_BASE_URL
        assert fake.client.options["timeout"] == 60.0
        assert fake.client.options["max_retries"] == 2
        assert fake.client.options["validate_certs"] is True

    def test_ini_over_default(self, lookup_plugin, fake, ini_file):
        ini_file("[nirvana_labs]\nbase_url = https://ini.example.test\ntimeout = 7\n"
                 "validate_certs = false\n")
        lookup_plugin.run(["a"], variables={}, api_key=API_KEY)
        assert fake.client.options["base_url"] == "https://ini.example.test"
        assert fake.client.options["timeout"] == 7.0
        assert fake.client.options["validate_certs"] is False

    def test_env_over_ini(self, lookup_plugin, fake, ini_file, monkeypatch):
        ini_file("[nirvana_labs]\nbase_url = https://ini.example.test\n")
        monkeypatch.setenv("NIRVANA_LABS_BASE_URL", "https://env.example.test")
        lookup_plugin.run(["a"], variables={}, api_key=API_KEY)
        assert fake.client.options["base_url"] == "https://env.example.test"

    def test_vars_over_env(self, lookup_plugin, fake, ini_file, monkeypatch):
        ini_file("[nirvana_labs]\nbase_url = https://ini.example.test\n")
        monkeypatch.setenv("NIRVANA_LABS_BASE_URL", "https://env.example.test")
        lookup_plugin.run(["a"], variables={"nirvana_labs_base_url": "https://vars.example.test"},
                          api_key=API_KEY)
        assert fake.client.options["base_url"] == "https://vars.example.test"

    def test_kwargs_over_vars(self, lookup_plugin, fake, ini_file, monkeypatch):
        ini_file("[nirvana_labs]\nbase_url = https://ini.example.test\n")
        monkeypatch.setenv("NIRVANA_LABS_BASE_URL", "https://env.example.test")
        lookup_plugin.run(["a"], variables={"nirvana_labs_base_url": "https://vars.example.test"},
                          api_key=API_KEY, base_url="https://kwargs.example.test")
        assert fake.client.options["base_url"] == "https://kwargs.example.test"

    @pytest.mark.parametrize("source", ["kwargs", "vars", "env", "ini"])
    def test_api_key_from_each_source(self, lookup_plugin, fake, ini_file, monkeypatch, source):
        kwargs, variables = {}, {}
        if source == "kwargs":
            kwargs["api_key"] = API_KEY
        elif source == "vars":
            variables["nirvana_labs_api_key"] = API_KEY
        elif source == "env":
            monkeypatch.setenv("NIRVANA_LABS_API_KEY", API_KEY)
        else:
            ini_file("[nirvana_labs]\napi_key = %s\n" % API_KEY)
        lookup_plugin.run(["a"], variables=variables, **kwargs)
        assert fake.client.options["api_key"] == API_KEY

    def test_every_connection_option_has_every_source(self, lookup_plugin, fake, monkeypatch):
        monkeypatch.setenv("NIRVANA_LABS_MAX_RETRIES", "5")
        monkeypatch.setenv("NIRVANA_LABS_USE_PROXY", "false")
        lookup_plugin.run(["a"], variables={"nirvana_labs_ca_path": "/tmp/ca.pem",
                                            "nirvana_labs_timeout": "3.5"}, api_key=API_KEY)
        options = fake.client.options
        assert (options["max_retries"], options["use_proxy"]) == (5, False)
        assert (options["ca_path"], options["timeout"]) == ("/tmp/ca.pem", 3.5)

    def test_templated_variables_are_rendered(self, lookup_plugin, fake):
        rendered = []

        class Templar(object):
            def template(self, value):
                rendered.append(value)
                return "rendered-" + value.strip("{} ")

        lookup_plugin._templar = Templar()
        lookup_plugin.run(["a"], variables={"nirvana_labs_api_key": "{{ vault_key }}"})
        assert rendered == ["{{ vault_key }}"]
        assert fake.client.options["api_key"] == "rendered-vault_key"

    def test_templated_typed_variables_convert_after_rendering(self, lookup_plugin, fake):
        class Templar(object):
            values = {"{{ retries }}": "0", "{{ secs }}": "2.5", "{{ check }}": "no"}

            def template(self, value):
                return self.values[value]

        lookup_plugin._templar = Templar()
        lookup_plugin.run(["a"], variables={"nirvana_labs_max_retries": "{{ retries }}",
                                            "nirvana_labs_timeout": "{{ secs }}",
                                            "nirvana_labs_validate_certs": "{{ check }}",
                                            "unrelated": "{{ never_rendered }}"},
                          api_key=API_KEY)
        options = fake.client.options
        assert (options["max_retries"], options["timeout"]) == (0, 2.5)
        assert options["validate_certs"] is False

    def test_empty_strings_mean_unset(self, lookup_plugin, fake, monkeypatch):
        # An empty path would otherwise become the current directory.
        lookup_plugin.run(["a"], variables={"nirvana_labs_ca_path": ""}, api_key=API_KEY)
        assert fake.client.options["ca_path"] is None
        monkeypatch.setenv("NIRVANA_LABS_BASE_URL", "https://env.example.test")
        lookup_plugin.run(["a"], variables={}, api_key=API_KEY, ca_path="", base_url="")
        assert fake.client.options["ca_path"] is None
        assert fake.client.options["base_url"] == "https://env.example.test"

    def test_missing_key_names_every_source(self, lookup_plugin, fake):
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run(["a"], variables={})
        message = str(err.value)
        for source in ("api_key", "nirvana_labs_api_key", "NIRVANA_LABS_API_KEY", "[nirvana_labs]"):
            assert source in message
        assert fake.client is None

    def test_unknown_options_are_refused_not_ignored(self, lookup_plugin, fake):
        # A misspelt filter must not turn into "list everything".
        with pytest.raises(AnsibleLookupError, match="unknown option acton; the options are"):
            lookup_plugin.run([], variables={}, api_key=API_KEY, acton="vm.deleted")
        with pytest.raises(AnsibleLookupError, match="unknown options cursor, foo"):
            lookup_plugin.run([], variables={}, api_key=API_KEY, foo=1, cursor="x")
        assert fake.client is None

    @pytest.mark.parametrize("name,must,value", [
        (name, must, value) for name, must in [
            ("timeout", "must be more than 0 and at most 3600 seconds"),
            ("max_body_bytes", "must be a whole number of at least 1024"),
            ("page_size", "must be a whole number from 10 to 100"),
            ("max_results", "must be a whole number of at least 1"),
            ("parallelism", "must be a whole number from 1 to 16"),
            ("max_pages", "must be a whole number of at least 1"),
            ("scan_timeout", "must be a number above 0"),
        ] for value in (0, -1)] + [("max_retries", "must be a whole number from 0 to 10", -1)])
    def test_zero_and_negative_numbers_are_refused_by_name(self, lookup_plugin, fake, name,
                                                           must, value):
        # page_size: 0 used to be read as 100, scan_timeout: 0 named the internal "deadline".
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run([], variables={}, api_key=API_KEY, **{name: value})
        assert str(err.value) == "%s: %s" % (name, must)
        assert fake.client is None

    def test_max_retries_zero_means_no_retries_and_is_taken(self, lookup_plugin, fake):
        lookup_plugin.run(["a"], variables={}, api_key=API_KEY, max_retries=0)
        assert fake.client.options["max_retries"] == 0

    def test_bad_typed_option_is_an_ansible_error(self, lookup_plugin, fake):
        with pytest.raises(AnsibleError) as err:
            lookup_plugin.run(["a"], variables={}, api_key=API_KEY, max_retries="many")
        assert "max_retries" in str(err.value)
        assert fake.client is None


class TestIds:

    def test_entries_in_the_order_of_the_terms(self, lookup_plugin, fake):
        result = lookup_plugin.run(["c", "a", "b"], variables={}, api_key=API_KEY)
        assert result == [ENTRIES["c"], ENTRIES["a"], ENTRIES["b"]]
        assert fake.client.closed

    def test_lists_of_ids_are_flattened(self, lookup_plugin, fake):
        result = lookup_plugin.run([["b", "a"], "c"], variables={}, api_key=API_KEY)
        assert [e["id"] for e in result] == ["b", "a", "c"]

    def test_missing_id_fails_by_default_and_names_it(self, lookup_plugin, fake):
        with pytest.raises(AnsibleLookupError, match="'nope'.*on_missing"):
            lookup_plugin.run(["a", "nope"], variables={}, api_key=API_KEY)

    def test_missing_id_with_warn(self, lookup_plugin, fake, warnings):
        result = lookup_plugin.run(["a", "nope", "b"], variables={}, api_key=API_KEY,
                                   on_missing="warn")
        assert [e["id"] for e in result] == ["a", "b"]
        assert len(warnings) == 1 and "'nope'" in warnings[0]

    def test_missing_id_with_skip(self, lookup_plugin, fake, warnings):
        result = lookup_plugin.run(["nope", "c"], variables={}, api_key=API_KEY,
                                   on_missing="skip")
        assert result == [ENTRIES["c"]]
        assert warnings == []

    def test_on_missing_choices(self, lookup_plugin, fake):
        with pytest.raises(AnsibleError, match="on_missing"):
            lookup_plugin.run(["a"], variables={}, api_key=API_KEY, on_missing="ignore")

    @pytest.mark.parametrize("option,value,choices", [
        ("on_missing", "ignore", "error, warn, skip"),
        ("on_incomplete", "ignore", "error, warn"),
        ("order", "sideways", "newest_first, oldest_first"),
    ])
    def test_a_bad_choice_lists_the_choices(self, lookup_plugin, fake, option, value, choices):
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run([], variables={}, api_key=API_KEY, **{option: value})
        assert str(err.value) == "%s: %r is not one of the choices: %s" % (option, value, choices)
        assert fake.client is None

    @pytest.mark.parametrize("term", [42, "", "  ", {"id": "a"}])
    def test_terms_must_be_ids(self, lookup_plugin, fake, term):
        with pytest.raises(AnsibleLookupError, match="each term must be the id"):
            lookup_plugin.run([term], variables={}, api_key=API_KEY)
        assert fake.client is None

    def test_ids_and_list_options_are_exclusive(self, lookup_plugin, fake):
        with pytest.raises(AnsibleLookupError, match="list options \\(since\\) are mutually exclusive"):
            lookup_plugin.run(["a"], variables={}, api_key=API_KEY, since="7d")
        assert fake.client is None


class TestListMode:

    def test_no_terms_lists_flat_dicts(self, lookup_plugin, fake):
        fake.configure(entries=[ENTRIES["a"], ENTRIES["b"]])
        result = lookup_plugin.run([], variables={}, api_key=API_KEY, since="7d",
                                   action="vm.*", status_code=["2xx", "404"], page_size=20,
                                   max_results=50)
        assert result == [ENTRIES["a"], ENTRIES["b"]]
        assert all(isinstance(item, dict) for item in result)
        (name, query, page_size, max_results, cursor), = fake.client.calls
        assert (name, page_size, max_results, cursor) == ("scan", 20, 50, None)
        assert query.window["since"] is not None
        assert query.matches({"action": "vm.deleted", "status_code": 404,
                              "created_at": query.window["since"]})
        assert not query.matches({"action": "api_key.deleted", "status_code": 404,
                                  "created_at": query.window["since"]})

    def test_defaults(self, lookup_plugin, fake):
        lookup_plugin.run([], variables={}, api_key=API_KEY)
        (_name, query, page_size, max_results, _cursor), = fake.client.calls
        assert (page_size, max_results, query.order) == (100, None, "newest_first")

    def test_resorted_when_the_server_ignored_the_order(self, lookup_plugin, fake):
        fake.configure(entries=[ENTRIES["a"], ENTRIES["c"], ENTRIES["b"]],
                       report=scan_report(order={"requested": "oldest_first",
                                                 "sort_sent": "created_at:asc",
                                                 "observed": "unordered"}))
        result = lookup_plugin.run([], variables={}, api_key=API_KEY, order="oldest_first")
        assert [e["id"] for e in result] == ["c", "b", "a"]

    def test_a_deliberate_max_results_does_not_warn(self, lookup_plugin, fake, warnings):
        fake.configure(entries=[ENTRIES["a"]],
                       report=scan_report(truncated=True, next_cursor="nla1.x", matched=1,
                                          complete=None,
                                          incomplete_reason="stopped at max_results=1 as asked"))
        result = lookup_plugin.run([], variables={}, api_key=API_KEY, max_results=1)
        assert result == [ENTRIES["a"]]
        assert warnings == []

    INCOMPLETE = ("the server said 1200 entries match the request (total_count) but sent 100;"
                  " the result cannot be the whole answer")

    def test_a_known_incomplete_list_fails_by_default_with_the_reason(self, lookup_plugin, fake):
        fake.configure(entries=[ENTRIES["a"]],
                       report=scan_report(complete=False, incomplete_reason=self.INCOMPLETE))
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run([], variables={}, api_key=API_KEY)
        assert str(err.value) == (
            "the list is not complete: %s (on_incomplete=error; use on_incomplete=warn to get"
            " the entries received)" % self.INCOMPLETE)

    def test_on_incomplete_warn_returns_the_entries_and_warns(self, lookup_plugin, fake,
                                                              warnings):
        fake.configure(entries=[ENTRIES["a"]],
                       report=scan_report(complete=False, incomplete_reason=self.INCOMPLETE))
        result = lookup_plugin.run([], variables={}, api_key=API_KEY, on_incomplete="warn")
        assert result == [ENTRIES["a"]]
        assert warnings == ["nirvana_labs.audit.audit_log: the result is not complete: "
                            + self.INCOMPLETE]

    def test_unknown_completeness_warns_without_failing(self, lookup_plugin, fake, warnings):
        fake.configure(entries=[ENTRIES["a"]],
                       report=scan_report(complete=None, total_count=None,
                                          incomplete_reason="the server sent no total_count"
                                                            " to compare with"))
        assert lookup_plugin.run([], variables={}, api_key=API_KEY) == [ENTRIES["a"]]
        assert warnings == ["nirvana_labs.audit.audit_log: the result may not be complete (it"
                            " cannot be checked): the server sent no total_count to compare"
                            " with"]

    def test_scan_guards_reach_the_scan(self, lookup_plugin, fake):
        lookup_plugin.run([], variables={}, api_key=API_KEY, max_pages=3, scan_timeout=1.5)
        assert fake.client.guards == (3, 1.5)

    def test_complete_list_does_not_warn(self, lookup_plugin, fake, warnings):
        fake.configure(entries=[ENTRIES["a"]])
        lookup_plugin.run([], variables={}, api_key=API_KEY)
        assert warnings == []

    def test_bad_filter_names_the_option(self, lookup_plugin, fake):
        with pytest.raises(AnsibleLookupError, match="^since: 'last tuesday' is not a time"):
            lookup_plugin.run([], variables={}, api_key=API_KEY, since="last tuesday")
        assert fake.client.calls == []


class TestErrors:

    @pytest.mark.parametrize("error", [
        AuthError("the API refused the API key (HTTP 401): unauthorized", 401),
        ApiError("the API answered HTTP 503: down (after 3 attempts)", 503),
        InvalidOption("base_url", "must be a URL"),
    ])
    def test_client_errors_become_lookup_errors_without_a_chain(self, lookup_plugin, fake,
                                                                error):
        fake.configure(error=error)
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run([], variables={}, api_key=API_KEY)
        assert str(err.value) == str(error)
        # No chained exception to print a traceback from.
        assert err.value.__cause__ is None and err.value.__suppress_context__

    def test_not_found_in_list_mode_is_an_error(self, lookup_plugin, fake):
        fake.configure(error=NotFoundError("not found (HTTP 404): no route", 404))
        with pytest.raises(AnsibleLookupError, match="404"):
            lookup_plugin.run([], variables={}, api_key=API_KEY, on_missing="skip")

    def test_missing_requests_uses_the_standard_message(self, lookup_plugin, plugin_module,
                                                        monkeypatch):
        monkeypatch.setattr(plugin_module, "HAS_REQUESTS", False)
        with pytest.raises(AnsibleLookupError,
                           match="Failed to import the required Python library \\(requests\\)"):
            lookup_plugin.run(["a"], variables={}, api_key=API_KEY)

    def test_key_never_in_the_error(self, lookup_plugin, fake):
        fake.configure(error=AuthError("the API refused the API key (HTTP 401): denied", 401))
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run(["a"], variables={}, api_key=API_KEY)
        assert API_KEY not in str(err.value)


def test_missing_key_message_names_every_source():
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
        missing_key_message,
    )
    assert missing_key_message(plugin=True) == (
        "api_key: required; pass api_key=..., or set the variable nirvana_labs_api_key,"
        " the environment variable NIRVANA_LABS_API_KEY, or api_key in the"
        " [nirvana_labs] section of ansible.cfg")


class TestFields:

    def test_list_mode_returns_only_the_listed_fields(self, lookup_plugin, fake):
        fake.configure(entries=[ENTRIES["a"], ENTRIES["b"]])
        result = lookup_plugin.run([], variables={}, api_key=API_KEY, fields=["id", "action"])
        assert result == [{"id": "a", "action": "vm.deleted"}, {"id": "b", "action": "vm.created"}]

    def test_id_mode_too(self, lookup_plugin, fake):
        result = lookup_plugin.run(["c"], variables={}, api_key=API_KEY, fields=["created_at"])
        assert result == [{"created_at": "2026-11-01T00:00:00Z"}]

    def test_a_malformed_field_is_a_lookup_error(self, lookup_plugin, fake):
        with pytest.raises(AnsibleLookupError) as err:
            lookup_plugin.run([], variables={}, api_key=API_KEY, fields=["actor."])
        assert "fields" in str(err.value)


class TestCache:
    """The same settled query in one run is one scan; an open window is read every time."""

    SETTLED = dict(since="2026-10-01T00:00:00Z", until="2026-11-01T00:00:00Z")

    @pytest.fixture(autouse=True)
    def local_temp(self, tmp_path, monkeypatch):
        monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path))
        return tmp_path

    def scans(self, lookup_plugin, fake, times, **options):
        fake.configure(entries=[ENTRIES["a"]])
        results, scans = [], 0
        for dummy in range(times):
            results.append(lookup_plugin.run([], variables={}, api_key=API_KEY, **options))
            scans += len(fake.client.calls)
        return results, scans

    def test_a_settled_window_is_scanned_once(self, lookup_plugin, fake, local_temp):
        results, scans = self.scans(lookup_plugin, fake, 4, fields=["id"], **self.SETTLED)
        assert scans == 1 and results == [[{"id": "a"}]] * 4
        stored = list(local_temp.rglob("*.json"))
        assert len(stored) == 1 and API_KEY not in stored[0].read_text()

    def test_other_options_are_another_entry(self, lookup_plugin, fake):
        dummy, first = self.scans(lookup_plugin, fake, 1, **self.SETTLED)
        dummy, other = self.scans(lookup_plugin, fake, 1, action="vm.*", **self.SETTLED)
        assert (first, other) == (1, 1)

    def test_an_open_window_is_read_every_time(self, lookup_plugin, fake):
        dummy, scans = self.scans(lookup_plugin, fake, 3, since="2026-10-01T00:00:00Z")
        assert scans == 3

    def test_cache_false_reads_every_time(self, lookup_plugin, fake):
        dummy, scans = self.scans(lookup_plugin, fake, 3, cache=False, **self.SETTLED)
        assert scans == 3

    @staticmethod
    def reads(fake):
        return sum(len(client.scans) for client in fake.made)

    @pytest.mark.parametrize("guard, stopped", [
        ({"max_pages": 3}, "stopped after max_pages=3 pages"),
        ({"scan_timeout": 1.5}, "stopped at the deadline of 1.5 s, after 3 pages"),
    ], ids=["max_pages", "scan_timeout"])
    def test_an_incomplete_read_is_never_served(self, lookup_plugin, fake, warnings, guard,
                                                stopped):
        reason = stopped + "; the server has more (resume with next_cursor)"
        fake.configure(entries=[ENTRIES["a"]],
                       report=scan_report(complete=False, incomplete_reason=reason))
        options = dict(guard, api_key=API_KEY, **self.SETTLED)
        for dummy in range(2):
            assert lookup_plugin.run([], variables={}, on_incomplete="warn",
                                     **options) == [ENTRIES["a"]]
        assert self.reads(fake) == 2  # each evaluation asked the API
        assert warnings == ["nirvana_labs.audit.audit_log: the result is not complete: "
                            + reason] * 2
        # The same lookup, and one without the guard, get the whole answer once it is read.
        fake.configure(entries=[ENTRIES["a"], ENTRIES["b"], ENTRIES["c"]])
        assert lookup_plugin.run([], variables={}, **options) == [
            ENTRIES["a"], ENTRIES["b"], ENTRIES["c"]]
        assert lookup_plugin.run([], variables={}, api_key=API_KEY, **self.SETTLED) == [
            ENTRIES["a"], ENTRIES["b"], ENTRIES["c"]]
        assert self.reads(fake) == 4

    @pytest.mark.parametrize("option", [
        {"max_pages": 3}, {"scan_timeout": 60}, {"page_size": 20}, {"max_results": 50},
        {"validate_certs": False}, {"order": "oldest_first"}, {"fields": ["id"]},
    ], ids=lambda option: sorted(option)[0])
    def test_each_option_that_decides_the_answer_is_another_entry(self, lookup_plugin, fake,
                                                                  option):
        self.scans(lookup_plugin, fake, 1, **self.SETTLED)
        self.scans(lookup_plugin, fake, 1, **dict(option, **self.SETTLED))
        assert self.reads(fake) == 2

    def test_parallelism_reads_the_same_answer(self, lookup_plugin, fake):
        self.scans(lookup_plugin, fake, 1, **self.SETTLED)
        self.scans(lookup_plugin, fake, 1, parallelism=4, **self.SETTLED)
        assert self.reads(fake) == 1

    KEEP_FAILED = ("nirvana_labs.audit.audit_log: the entries were read but could not be kept in"
                   " the lookup cache (%s); they are returned as read, and the next evaluation"
                   " reads them again")

    def test_a_full_disk_returns_the_entries_with_a_warning(self, lookup_plugin, fake, warnings,
                                                            monkeypatch):
        def no_space(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(tempfile, "mkstemp", no_space)
        results, dummy = self.scans(lookup_plugin, fake, 2, **self.SETTLED)
        assert results == [[ENTRIES["a"]]] * 2 and self.reads(fake) == 2
        assert warnings == [self.KEEP_FAILED % "No space left on device"] * 2

    def test_a_directory_pruned_meanwhile_returns_the_entries_with_a_warning(
            self, lookup_plugin, fake, warnings, monkeypatch, local_temp):
        read = FakeClient.read

        def read_while_another_process_prunes(*args, **kwargs):
            answer = read(*args, **kwargs)
            for path in local_temp.iterdir():
                shutil.rmtree(str(path))
            return answer

        monkeypatch.setattr(FakeClient, "read", read_while_another_process_prunes)
        results, dummy = self.scans(lookup_plugin, fake, 1, **self.SETTLED)
        assert results == [[ENTRIES["a"]]]
        assert len(warnings) == 1
        assert warnings[0].startswith(self.KEEP_FAILED.split(" (", maxsplit=1)[0] + " (No such file or")

    def plant(self, local_temp, monkeypatch, how):
        """A shared temporary directory where another user made our predictable path first."""
        shared = local_temp / "shared"
        shared.mkdir()
        os.chmod(str(shared), 0o1777)
        monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(shared))
        ours = shared / ("nirvana_labs_audit_lookup-%d" % os.geteuid())
        theirs = local_temp / "theirs"
        (theirs / ("run-%d" % os.getpid())).mkdir(parents=True)
        if how == "directory":
            theirs.rename(ours)
            os.chmod(str(ours), 0o700)
        else:
            os.chmod(str(theirs), 0o777)
            ours.symlink_to(theirs)
        for path in (theirs, ours, ours / ("run-%d" % os.getpid())):
            if path.exists():
                os.chown(str(path), 65534, 65534, follow_symlinks=False)
        return ours

    @pytest.mark.parametrize("how, reason", [
        ("directory", "belongs to another user (uid 65534)"),
        ("link", "is not a directory (a link or a file is there)"),
    ])
    def test_a_planted_location_is_refused_with_a_warning(self, lookup_plugin, fake, warnings,
                                                          monkeypatch, local_temp, how, reason):
        ours = self.plant(local_temp, monkeypatch, how)
        results, dummy = self.scans(lookup_plugin, fake, 3, **self.SETTLED)
        assert results == [[ENTRIES["a"]]] * 3 and self.reads(fake) == 3
        assert warnings == ["nirvana_labs.audit.audit_log: the lookup cache is not used (%s"
                            " %s); the entries are read from the API"
                            % ("the directory %s" % ours if how == "directory" else ours,
                               reason)] * 3
        assert not list(local_temp.rglob("*.json"))
