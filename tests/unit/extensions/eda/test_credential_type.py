# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDA controller's credential type (extensions/eda/credential_types/nirvana_labs_audit.yml)
rendered as the controller renders injectors (Jinja's immutable sandbox, empty inputs left out),
and what it injects read by the event source's own option parsing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    event_source_arguments,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))
CREDENTIAL_TYPE = os.path.join(ROOT, "extensions", "eda", "credential_types",
                               "nirvana_labs_audit.yml")
GUIDE = os.path.join(ROOT, "docs", "docsite", "rst", "events.rst")
KEY = "nl-live-0123456789abcdef"
PASSWORD = "p@ss w'rd/1"


@pytest.fixture(scope="module")
def definition():
    with open(CREDENTIAL_TYPE) as handle:
        return yaml.safe_load(handle)


def inject(definition, inputs):
    """``(env, extra_vars)`` for a credential with ``inputs``: empty inputs are left out of the
    namespace, as the controller does, so ``default(..., true)`` sees them as missing."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = dict((name, value) for name, value in inputs.items() if value != "")
    missing = [name for name in definition["inputs"]["required"] if name not in namespace]
    assert not missing, "required input(s) missing: %s" % missing
    rendered = {}
    for kind in ("env", "extra_vars"):
        rendered[kind] = dict((name, sandbox.from_string(template).render(**namespace))
                              for name, template in definition["injectors"][kind].items())
    return rendered["env"], rendered["extra_vars"]


def test_the_inputs_hold_the_key_and_the_password_as_secrets(definition):
    fields = dict((field["id"], field) for field in definition["inputs"]["fields"])
    assert sorted(fields) == ["api_key", "base_url", "state_password"]
    assert fields["api_key"]["secret"] is True and fields["state_password"]["secret"] is True
    assert not fields["base_url"].get("secret")
    assert definition["inputs"]["required"] == ["api_key"]
    # Only what the controller knows how to inject, under names it does not reserve.
    assert sorted(definition["injectors"]) == ["env", "extra_vars"]
    for name in definition["injectors"]["extra_vars"]:
        assert not name.lower().startswith(("eda", "ansible")), name
    for name in definition["injectors"]["env"]:
        assert not name.startswith(("EDA_", "ANSIBLE_")), name


def test_every_input_reaches_the_environment_and_the_extra_vars(definition):
    env, extra_vars = inject(definition, {"api_key": KEY, "base_url": "https://api.test:8443",
                                          "state_password": PASSWORD})
    assert env == {"NIRVANA_LABS_API_KEY": KEY, "NIRVANA_LABS_BASE_URL": "https://api.test:8443",
                   "PGPASSWORD": PASSWORD}
    assert extra_vars == {"nirvana_labs_api_key": KEY,
                          "nirvana_labs_base_url": "https://api.test:8443",
                          "nirvana_labs_state_password": PASSWORD}


@pytest.mark.parametrize("inputs", [{"api_key": KEY},
                                    {"api_key": KEY, "base_url": "", "state_password": ""}])
def test_a_key_only_credential_falls_back_to_the_modules_defaults(definition, inputs):
    env, extra_vars = inject(definition, inputs)
    default_url = CONNECTION_OPTIONS["base_url"]["default"]
    assert env["NIRVANA_LABS_BASE_URL"] == extra_vars["nirvana_labs_base_url"] == default_url
    # libpq takes an empty PGPASSWORD as none (it then reads ~/.pgpass or the DSN's own).
    assert env["PGPASSWORD"] == extra_vars["nirvana_labs_state_password"] == ""


def test_the_source_reads_what_the_credential_injects(definition):
    env, dummy = inject(definition, {"api_key": KEY, "base_url": "https://api.test:8443"})
    assert CONNECTION_OPTIONS["api_key"]["env"][0] in env
    assert CONNECTION_OPTIONS["base_url"]["env"][0] in env
    connection = event_source_arguments({"action": "vm.deleted"}, environ=env)[0]
    assert (connection["api_key"], connection["base_url"]) == (KEY, "https://api.test:8443")


def test_the_guide_uses_only_variables_the_credential_injects(definition):
    with open(GUIDE) as handle:
        guide = handle.read()
    used = set(re.findall(r"\{\{\s*(nirvana_labs_\w+)\s*\}\}", guide))
    assert used, "the events guide shows the credential's extra vars in use"
    assert used <= set(definition["injectors"]["extra_vars"])
    assert os.path.basename(CREDENTIAL_TYPE) in guide
