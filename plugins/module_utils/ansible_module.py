# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' glue to Ansible: an AnsibleModule built from the option schema, and an
``AuditLogError`` turned into ``fail_json``.

The only file of ``module_utils`` that imports Ansible; the library below stays Ansible-free.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    missing_key_message,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import bounds_error

_ARGSPEC_KEYS = ("type", "elements", "default", "choices", "required", "no_log")


def argument_spec(*groups):
    """AnsibleModule argument spec for the given option groups of the schema.

    Connection options fall back to their environment variables, as the plugins do.
    """
    spec = {}
    for group in groups:
        for name, schema in group.items():
            arg = dict((k, copy.deepcopy(v)) for k, v in schema.items() if k in _ARGSPEC_KEYS)
            if schema.get("env"):
                arg["fallback"] = (env_fallback, list(schema["env"]))
                # Checked by schema_module, with a message naming the environment variable.
                arg.pop("required", None)
            spec[name] = arg
    return spec


def schema_module(groups, needs_requests=True, **kwargs):
    """An AnsibleModule whose arguments are ``groups``, checked against the schema's bounds.

    Fails (``fail_json``) when ``requests`` is missing and ``needs_requests``, or when a value
    is out of bounds; check mode is supported, as every module of the collection only reads
    or writes local files.
    """
    module = AnsibleModule(argument_spec=argument_spec(*groups), supports_check_mode=True,
                           **kwargs)
    if needs_requests and not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    message = bounds_error(module.params, *groups)
    if "api_key" in module.params and not module.params["api_key"]:
        message = missing_key_message()
    if message:
        module.fail_json(msg=message)
    return module


def set_file_attributes(module, paths, changed=False):
    """Apply the standard file options (``mode``, ``owner``, ``group``, SELinux, attributes:
    ``add_file_common_args=True``) to the existing ``paths``, as ``ansible.builtin.copy``
    does; returns whether anything changed. A directory gets all but ``mode``."""
    for path in paths:
        if not os.path.lexists(path):
            continue
        file_args = module.load_file_common_arguments(module.params, path=path)
        if os.path.isdir(path):
            file_args["mode"] = None
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed


def failure_of(err):
    """``fail_json`` arguments for an error: its message, and the HTTP status when it has one."""
    failure = {"msg": str(err)}
    status = getattr(err, "status", None)
    if status is not None:
        failure["status"] = status
    return failure


def run_or_fail(module, action, io_failure=None, errors=(AuditLogError,)):
    """``action()``, or ``fail_json`` when it raises one of ``errors``.

    With ``io_failure`` (a phrase such as "cannot write the bundle"), an OSError fails the
    module with that phrase and the system's message too.
    """
    failure = None
    try:
        return action()
    except errors as err:
        failure = failure_of(err)
    except (IOError, OSError) as err:
        if io_failure is None:
            raise
        failure = {"msg": "%s: %s" % (io_failure, err)}
    # Outside the except block: fail_json attaches the pending exception's traceback at high
    # verbosity (ansible-core < 2.19), and the message already says everything.
    module.fail_json(**failure)
    return None  # not reached: fail_json exits
