# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One schema feeds the module argspec and both doc fragment flavours."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.connection import (
    ModuleDocFragment as Connection,
)
from ansible_collections.nirvana_labs.audit.plugins.doc_fragments.query import (
    ModuleDocFragment as QueryDocs,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    argument_spec,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import (
    CONNECTION_OPTIONS,
    QUERY_OPTIONS,
    RESUME_OPTIONS,
    doc_options,
)


def test_doc_fragments_are_rendered_from_the_schema():
    """The fragments are literal YAML (ansible-test reads them statically); they must say
    exactly what the schema says. On failure: python scripts/render_doc_fragments.py"""
    assert yaml.safe_load(Connection.DOCUMENTATION) == {"options": doc_options(CONNECTION_OPTIONS)}
    assert yaml.safe_load(Connection.PLUGINS) == {
        "options": doc_options(CONNECTION_OPTIONS, plugin=True)}
    assert yaml.safe_load(QueryDocs.DOCUMENTATION) == {"options": doc_options(QUERY_OPTIONS)}
    assert yaml.safe_load(QueryDocs.RESUME) == {"options": doc_options(RESUME_OPTIONS)}


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
