# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schema feeds the module argspecs and every doc fragment; the core owns its constants."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import CONNECTION_NAMES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import (
    API_MODULE_ATTRIBUTES,
    CONNECTION_OPTIONS,
    EXPORT_OPTIONS,
    ID_OPTIONS,
    ON_MISSING_OPTIONS,
    QUERY_OPTIONS,
    REPORT_OPTIONS,
    RESUME_OPTIONS,
    bounds_error,
    doc_options,
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
    assert yaml.safe_load(QueryDocs.DOCUMENTATION) == {"options": doc_options(QUERY_OPTIONS)}
    assert yaml.safe_load(QueryDocs.RESUME) == {"options": doc_options(RESUME_OPTIONS)}
    assert yaml.safe_load(QueryDocs.ID) == {"options": doc_options(ID_OPTIONS)}
    assert yaml.safe_load(QueryDocs.ON_MISSING) == {"options": doc_options(ON_MISSING_OPTIONS)}
    assert yaml.safe_load(ExportDocs.DOCUMENTATION) == {"options": doc_options(EXPORT_OPTIONS)}
    assert yaml.safe_load(ReportDocs.DOCUMENTATION) == {"options": doc_options(REPORT_OPTIONS)}
    assert yaml.safe_load(AttributesDocs.DOCUMENTATION) == {"attributes": API_MODULE_ATTRIBUTES}


def test_argspec_and_docs_agree_on_every_option():
    spec = argument_spec(CONNECTION_OPTIONS, QUERY_OPTIONS)
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
    the query's filters (the list options beside them are paging and order)."""
    assert tuple(CONNECTION_OPTIONS) == CONNECTION_NAMES
    assert set(FILTER_NAMES) <= set(QUERY_OPTIONS)
    paging = {"page_size", "max_results", "order", "max_pages", "scan_timeout", "parallelism"}
    assert set(QUERY_OPTIONS) - set(FILTER_NAMES) == paging
    assert QUERY_OPTIONS["actor_type"]["choices"] == list(ACTOR_TYPES)


def test_the_roles_filters_are_the_querys_filters():
    """The role's argument spec lists the filters the export takes, so it refuses the rest."""
    with open(os.path.join(ROOT, "roles", "evidence", "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]["evidence_filters"]
    window = {"since", "until"}
    assert set(spec["options"]) == set(FILTER_NAMES) - window
    for name, option in spec["options"].items():
        assert (option["type"], option["elements"]) == ("list", "str"), name
        assert option.get("choices") == QUERY_OPTIONS[name].get("choices"), name
