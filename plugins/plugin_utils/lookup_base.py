# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lookup base class whose options come from the collection's option schema.

It does what every lookup of the collection must do before reading anything: refuse options it
does not know, render the variable-sourced options (and only those) with the templar, treat an
empty string as not set, refuse numbers out of their bounds, name every place the API key can
come from when it is missing, and turn an ``AuditLogError`` into an ``AnsibleLookupError``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
    missing_key_message,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import bounds_error


class SchemaLookupBase(LookupBase):
    """Subclasses set ``OPTION_GROUPS``, the schema groups they take, connection first."""

    OPTION_GROUPS = (CONNECTION_OPTIONS,)

    @classmethod
    def known_options(cls):
        return frozenset(name for group in cls.OPTION_GROUPS for name in group)

    @classmethod
    def variable_names(cls):
        """The Ansible variables the options can be read from (nirvana_labs_api_key, ...)."""
        return tuple(var for group in cls.OPTION_GROUPS for schema in group.values()
                     for var in schema.get("vars", ()))

    def load_options(self, variables, kwargs):
        """Check ``kwargs`` and set the options from them and ``variables``."""
        known = self.known_options()
        unknown = sorted(name for name in kwargs if name not in known)
        if unknown:
            # Ansible would ignore them, and a misspelt filter would silently list everything.
            raise AnsibleLookupError("unknown option%s %s; the options are %s" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(known))))
        # An empty string means "not set": Ansible would turn an empty path into the current
        # directory, which requests would then take for a directory of CA certificates.
        direct = dict((k, v) for k, v in kwargs.items() if v != "")
        self._check_choices(direct)
        self.set_options(var_options=self._our_variables(variables), direct=direct)
        # As the modules do: a number out of its bounds (0 included) is refused by name.
        message = bounds_error(self.options_of(*self.OPTION_GROUPS), *self.OPTION_GROUPS)
        if message:
            raise AnsibleLookupError(message)

    def _check_choices(self, direct):
        """A value outside an option's choices fails with the choices listed (Ansible's own
        message names the plugin's internal path and varies between versions)."""
        for group in self.OPTION_GROUPS:
            for name, schema in group.items():
                if name not in direct or not schema.get("choices"):
                    continue
                value = direct[name]
                values = [value]
                if schema.get("type") == "list":
                    # As Ansible converts a list option: a string is split on commas.
                    values = value.split(",") if isinstance(value, str) else value
                for item in values:
                    if item not in schema["choices"]:
                        raise AnsibleLookupError("%s: %r is not one of the choices: %s" % (
                            name, item, ", ".join(schema["choices"])))

    def _our_variables(self, variables):
        """The variables this lookup reads, rendered.

        Variables reach a lookup as written, possibly templates such as "{{ vault_key }}";
        typed options (timeout, max_retries, ...) would fail to convert unrendered, so each
        one of ours is rendered first, and only ours: the rest of the play's variables are
        none of our business.
        """
        if not variables:
            return {}
        rendered = {}
        for name in self.variable_names():
            if name in variables:
                value = variables[name]
                if self._templar is not None and isinstance(value, str) and "{" in value:
                    value = self._templar.template(value)
                if value != "":
                    rendered[name] = value
        return rendered

    def options_of(self, *groups):
        return dict((name, self.get_option(name)) for group in groups for name in group)

    def connection_options(self):
        """The connection options, for ``AuditLogClient.from_options``; fails without a key."""
        options = self.options_of(CONNECTION_OPTIONS)
        if not options.get("api_key"):
            raise AnsibleLookupError(missing_key_message(plugin=True))
        return options

    @staticmethod
    @contextlib.contextmanager
    def audit_log_errors():
        """An AuditLogError raised inside becomes an AnsibleLookupError with its message."""
        try:
            yield
        except AuditLogError as err:
            # str(err) is built without headers, so it never carries the key.
            raise AnsibleLookupError(str(err)) from None
