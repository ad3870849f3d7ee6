# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schema feeds the module argspecs and every doc fragment; the core owns its constants."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.attributes import (
    ModuleDocFragment as AttributesDocs,
)
from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.connection import (
    ModuleDocFragment as Connection,
)
from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.export import (
    ModuleDocFragment as ExportDocs,
)
from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.query import (
    ModuleDocFragment as QueryDocs,
)
from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.report import (
    ModuleDocFragment as ReportDocs,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    argument_spec,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (
    CONNECTION_NAMES,
    READ_SETTING_NAMES,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    API_MODULE_ATTRIBUTES,
    API_MODULE_REQUIREMENTS,
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    EXPORT_OPTIONS,
    REPORT_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.info import (
    ID_OPTIONS,
    RESUME_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.lookup import (
    ON_MISSING_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    bounds_error,
    doc_options,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    EVENT_SOURCE_GROUPS,
    SOURCE_OPTIONS,
    event_source_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import (
    ACTOR_TYPES,
    FILTER_NAMES,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *([".."] * 4)))


def test_doc_fragments_are_rendered_from_the_schema():
    """The fragments are literal YAML (ansible-test reads them statically); they must say
    exactly what the schema says. On failure: python scripts/render_doc_fragments.py"""
    assert yaml.safe_load(Connection.DOCUMENTATION) == {"options": doc_options(CONNECTION_OPTIONS)}
    assert yaml.safe_load(Connection.PLUGINS) == {
        "options": doc_options(CONNECTION_OPTIONS, plugin=True)}
    assert yaml.safe_load(QueryDocs.DOCUMENTATION) == {
        "options": doc_options(FILTER_OPTIONS, READ_OPTIONS)}
    assert yaml.safe_load(QueryDocs.RESUME) == {"options": doc_options(RESUME_OPTIONS)}
    assert yaml.safe_load(QueryDocs.ID) == {"options": doc_options(ID_OPTIONS)}
    assert yaml.safe_load(QueryDocs.ON_MISSING) == {"options": doc_options(ON_MISSING_OPTIONS)}
    assert yaml.safe_load(ExportDocs.DOCUMENTATION) == {"options": doc_options(EXPORT_OPTIONS)}
    assert yaml.safe_load(ReportDocs.DOCUMENTATION) == {"options": doc_options(REPORT_OPTIONS)}
    assert yaml.safe_load(AttributesDocs.DOCUMENTATION) == {
        "attributes": API_MODULE_ATTRIBUTES, "requirements": API_MODULE_REQUIREMENTS}


def test_argspec_and_docs_agree_on_every_option():
    spec = argument_spec(CONNECTION_OPTIONS, FILTER_OPTIONS, READ_OPTIONS)
    documented = dict(yaml.safe_load(Connection.DOCUMENTATION)["options"])
    documented.update(yaml.safe_load(QueryDocs.DOCUMENTATION)["options"])
    assert set(spec) == set(documented)
    for name, arg in spec.items():
        doc = documented[name]
        assert doc["type"] == arg["type"], name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("choices") == arg.get("choices"), name
        assert doc.get("elements") == arg.get("elements"), name


def test_api_key_is_no_log_with_env_fallback():
    spec = argument_spec(CONNECTION_OPTIONS)["api_key"]
    assert spec["no_log"] is True
    assert spec["fallback"][1] == ["NIRVANA_LABS_API_KEY"]


def test_plugin_flavour_adds_every_source():
    options = yaml.safe_load(Connection.PLUGINS)["options"]
    assert options["base_url"]["env"] == [{"name": "NIRVANA_LABS_BASE_URL"}]
    assert options["base_url"]["vars"] == [{"name": "nirvana_labs_base_url"}]
    assert options["base_url"]["ini"] == [{"section": "nirvana_labs", "key": "base_url"}]
    module_options = yaml.safe_load(Connection.DOCUMENTATION)["options"]
    assert "env" not in module_options["base_url"]
    assert "NIRVANA_LABS_BASE_URL" in module_options["base_url"]["description"][-1]


def test_bounds_are_in_the_schema_and_not_in_the_docs():
    assert bounds_error({"top": 0, "list_limit": 5, "formats": ["html"]}, REPORT_OPTIONS) == (
        "top: must be a whole number of at least 1")
    assert bounds_error({"top": 1, "list_limit": 1, "formats": []}, REPORT_OPTIONS) == (
        "formats: give at least one of markdown, html")
    assert bounds_error({"top": 1, "list_limit": 1, "formats": ["html"]}, REPORT_OPTIONS) is None
    documented = yaml.safe_load(ReportDocs.DOCUMENTATION)["options"]
    assert "minimum" not in documented["top"] and "non_empty" not in documented["formats"]


def test_schema_names_are_the_cores_names():
    """The schema documents exactly what the core takes: the client's connection settings and
    read settings, and the query's filters with the order."""
    assert tuple(CONNECTION_OPTIONS) == CONNECTION_NAMES
    assert set(READ_OPTIONS) == set(READ_SETTING_NAMES)
    assert set(FILTER_OPTIONS) == set(FILTER_NAMES) | {"order"}
    assert FILTER_OPTIONS["actor_type"]["choices"] == list(ACTOR_TYPES)


def test_the_roles_filters_are_the_querys_filters():
    """The role's argument spec lists the filters the export takes, so it refuses the rest."""
    with open(os.path.join(ROOT, "roles", "evidence", "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]["evidence_filters"]
    window = {"since", "until"}
    assert set(spec["options"]) == set(FILTER_NAMES) - window
    for name, option in spec["options"].items():
        assert (option["type"], option["elements"]) == ("list", "str"), name
        assert option.get("choices") == FILTER_OPTIONS[name].get("choices"), name


def test_the_event_source_documents_what_the_schema_says():
    """Its DOCUMENTATION's options are rendered from the schema (between its markers); on
    failure: python scripts/render_doc_fragments.py"""
    path = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")
    with open(path) as handle:
        text = handle.read()
    documentation = text.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0]
    assert yaml.safe_load(documentation)["options"] == doc_options(*EVENT_SOURCE_GROUPS)


def test_the_render_script_check_fails_on_stale_documentation(tmp_path):
    """``--check`` exits 0 on the committed tree and 1 once a generated block is edited."""
    script = os.path.join(ROOT, "scripts", "render_doc_fragments.py")
    ok = subprocess.run([sys.executable, script, "--check"], stdout=subprocess.PIPE,
                        universal_newlines=True, check=False)
    assert ok.returncode == 0, ok.stdout
    copy = tmp_path / "render.py"
    with open(script) as handle:
        source = handle.read()
    # The same script against a copy of the event source whose options were edited by hand.
    source_path = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source",
                               "audit_log.py")
    edited = tmp_path / "audit_log.py"
    with open(source_path) as handle:
        edited.write_text(handle.read().replace("How long to wait between the end of a poll",
                                                "Seconds between polls"))
    copy.write_text(source.replace(
        'ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))',
        "ROOT = %r" % ROOT).replace(
        'EVENT_SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source",'
        ' "audit_log.py")', "EVENT_SOURCE = %r" % str(edited)))
    stale = subprocess.run([sys.executable, str(copy), "--check"], stdout=subprocess.PIPE,
                           universal_newlines=True, check=False)
    assert stale.returncode == 1
    assert str(edited) in stale.stdout


# Every int and float option: 0 and a negative value are refused with a message naming the
# option (max_retries excepted for 0, documented as "no retries").
NUMBERS = [
    ("timeout", "timeout: must be more than 0 and at most 3600 seconds"),
    ("max_retries", "max_retries: must be a whole number from 0 to 10"),
    ("max_body_bytes", "max_body_bytes: must be a whole number of at least 1024"),
    ("page_size", "page_size: must be a whole number from 10 to 100"),
    ("max_results", "max_results: must be a whole number of at least 1"),
    ("parallelism", "parallelism: must be a whole number from 1 to 16"),
    ("max_pages", "max_pages: must be a whole number of at least 1"),
    ("scan_timeout", "scan_timeout: must be a number above 0"),
    ("top", "top: must be a whole number of at least 1"),
    ("list_limit", "list_limit: must be a whole number of at least 1"),
    ("interval", "interval: must be from 0.1 to 86400 seconds"),
    ("settle", "settle: must be more than 0 and at most 86400 seconds"),
    ("feedback_timeout", "feedback_timeout: must be from 1 to 86400 seconds"),
]
GROUPS = (CONNECTION_OPTIONS, READ_OPTIONS, REPORT_OPTIONS, SOURCE_OPTIONS)


def test_every_numeric_option_has_bounds():
    # The export's settle, a duration too, has only its floor (0): tested with the durations.
    numeric = sorted(name for group in GROUPS + (FILTER_OPTIONS, EXPORT_OPTIONS)
                     for name, schema in group.items()
                     if schema["type"] in ("int", "float")
                     or schema.get("duration") and group is not EXPORT_OPTIONS)
    assert numeric == sorted(name for name, dummy in NUMBERS)


@pytest.mark.parametrize("name,message", NUMBERS)
@pytest.mark.parametrize("value", [0, -1, -0.5])
def test_zero_and_negatives_are_refused_by_name(name, message, value):
    if name == "max_retries" and value == 0:
        assert bounds_error({name: 0}, *GROUPS) is None
        return
    assert bounds_error({name: value}, *GROUPS) == message


def test_bounds_refuse_nan_and_keep_the_edges():
    assert bounds_error({"scan_timeout": float("nan")}, READ_OPTIONS) == (
        "scan_timeout: must be a number above 0")
    assert bounds_error({"page_size": 10, "parallelism": 16, "timeout": 3600, "interval": 0.1,
                         "settle": 86400, "max_retries": 10}, *GROUPS) is None
    assert bounds_error({"page_size": 101}, READ_OPTIONS) == (
        "page_size: must be a whole number from 10 to 100")


def test_event_source_arguments_fall_back_to_the_environment_and_type_them():
    connection, filters, source = event_source_arguments(
        {"action": "vm.deleted", "eda_feedback_queue": object(), "interval": "2",
         "ordered": "yes"},
        environ={"NIRVANA_LABS_API_KEY": "k", "NIRVANA_LABS_VALIDATE_CERTS": "no",
                 "NIRVANA_LABS_MAX_RETRIES": "4", "NIRVANA_LABS_TIMEOUT": "2.5"})
    assert (connection["api_key"], connection["validate_certs"], connection["max_retries"],
            connection["timeout"], connection["use_proxy"]) == ("k", False, 4, 2.5, True)
    assert filters == {"action": "vm.deleted"}
    assert source == {"since": "now", "interval": 2.0, "settle": 30.0, "ordered": True,
                      "state_file": None, "feedback": False, "feedback_timeout": 300}


@pytest.mark.parametrize("args,option,message", [
    ({}, "api_key", "api_key: is required; set it or NIRVANA_LABS_API_KEY"),
    ({"api_key": "k", "colour": "blue"}, "colour",
     "colour: is not an option of nirvana_labs.audit.audit_log"),
    ({"api_key": "k", "until": "1d"}, "until",
     "until: is not an option of nirvana_labs.audit.audit_log"),
    ({"api_key": "k", "validate_certs": "perhaps"}, "validate_certs",
     "validate_certs: must be a boolean"),
    ({"api_key": "k", "max_retries": "1.5"}, "max_retries", "max_retries: must be a whole number"),
    ({"api_key": "k", "interval": "soon"}, "interval",
     "interval: 'soon' is not a duration; use seconds (300) or a number and a unit s, m, h, d"
     " or w (90s, 5m, 1h, 2d)"),
    ({"api_key": "k", "interval": 0}, "interval", "interval: must be from 0.1 to 86400 seconds"),
    ({"api_key": "k", "settle": -1}, "settle",
     "settle: must be more than 0 and at most 86400 seconds"),
])
def test_event_source_arguments_refuse_with_a_clear_message(args, option, message):
    with pytest.raises(InvalidOption) as err:
        event_source_arguments(args, environ={})
    assert (err.value.option, str(err.value)) == (option, message)
