# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one schema of every option the collection's plugins take.

Each option is described once here: type, default, choices, environment variable, Ansible
variable, ``ansible.cfg`` key, ``no_log`` and its documentation. The module argument specs
(``argument_spec``) and the doc fragments (``doc_options``) are both generated from it, so
documentation, module and lookup cannot drift apart.

Plain data and two small functions; nothing here talks HTTP.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import ORDERS

DEFAULT_BASE_URL = "https://api.nirvanalabs.io"
# The official SDKs default to a 60 s timeout and 2 retries (contract, "Where and how").
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100

INI_SECTION = "nirvana_labs"


def _conn(name, description, **spec):
    """A connection option: the plugins can also read it from env, vars and ansible.cfg."""
    spec.setdefault("env", ["NIRVANA_LABS_%s" % name.upper()])
    spec.setdefault("vars", ["nirvana_labs_%s" % name])
    spec.setdefault("ini", name)
    spec["description"] = description
    return spec


CONNECTION_OPTIONS = {
    "api_key": _conn(
        "api_key",
        [
            "The Nirvana Labs API key, sent as C(Authorization: Bearer <key>).",
            "Never logged, never returned, and never sent to another host than O(base_url)"
            " or over plain C(http://) to a host that is not a loopback address.",
            "Required.",
        ],
        type="str",
        required=True,
        no_log=True,
    ),
    "base_url": _conn(
        "base_url",
        [
            "Base URL of the API, scheme and host (and port) only, for example the local"
            " emulator's C(http://127.0.0.1:8080).",
            "Plain C(http://) is accepted only for loopback addresses.",
        ],
        type="str",
        default=DEFAULT_BASE_URL,
    ),
    "timeout": _conn(
        "timeout",
        [
            "Seconds to wait for the server to connect and to send each response, per attempt.",
            "The default is the official SDKs' 60 seconds.",
        ],
        type="float",
        default=DEFAULT_TIMEOUT,
    ),
    "validate_certs": _conn(
        "validate_certs",
        [
            "Whether to verify the server's TLS certificate.",
            "Set to V(false) only for a test server; prefer O(ca_path) for a private CA.",
        ],
        type="bool",
        default=True,
    ),
    "ca_path": _conn(
        "ca_path",
        ["PEM file of CA certificates to verify the server with, instead of the system store."],
        type="path",
    ),
    "max_retries": _conn(
        "max_retries",
        [
            "How many times to retry a request that failed in a retryable way: connection"
            " errors and timeouts, and the statuses 408, 409, 429 and 5xx, as the official"
            " SDKs do.",
            "Waits follow C(Retry-After-Ms) or C(Retry-After) when the server sends them"
            " (up to 60 seconds), else exponential back-off from 0.5 s, capped at 8 s, with jitter.",
            "V(0) disables retries.",
        ],
        type="int",
        default=DEFAULT_MAX_RETRIES,
    ),
    "use_proxy": _conn(
        "use_proxy",
        [
            "Whether to honour the E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY) environment"
            " variables.",
        ],
        type="bool",
        default=True,
    ),
}

_LIST_TEXT = "Several values match any of them (OR); different options must all match (AND)."
_GLOB_TEXT = "Values may be shell-style glob patterns (C(*), C(?), C([...])), matched case-sensitively."

QUERY_OPTIONS = {
    "since": dict(
        type="str",
        description=[
            "Only entries created at or after this instant (inclusive).",
            "An RFC 3339 date-time (C(2026-11-01T00:00:00Z)), a date (C(2026-11-01), midnight"
            " UTC), C(now), or a time before now: a number and a unit C(s), C(m), C(h), C(d)"
            " or C(w) (C(30m), C(12h), C(7d), C(2w)).",
            "Resolved once, at the start, to an exact UTC instant; the result reports it.",
        ],
    ),
    "until": dict(
        type="str",
        description=[
            "Only entries created before this instant (exclusive), in the forms O(since) takes.",
            "With O(since), the window is half-open, so consecutive periods never share an entry.",
        ],
    ),
    "action": dict(
        type="list",
        elements="str",
        description=["Only entries with this action, such as C(vm.deleted) or C(api_key.*).",
                     _GLOB_TEXT, _LIST_TEXT],
    ),
    "actor_id": dict(
        type="list",
        elements="str",
        description=["Only entries by this user or API key id.", _GLOB_TEXT, _LIST_TEXT],
    ),
    "actor_name": dict(
        type="list",
        elements="str",
        description=[
            "Only entries by an actor with this display name. API keys may have no name.",
            "Applied by the client only: the API has no such filter.",
            _GLOB_TEXT,
            _LIST_TEXT,
        ],
    ),
    "actor_type": dict(
        type="list",
        elements="str",
        choices=["user", "api_key"],
        description=["Only entries by this kind of actor.", _LIST_TEXT],
    ),
    "target_id": dict(
        type="list",
        elements="str",
        description=["Only entries acting on this resource id.", _GLOB_TEXT, _LIST_TEXT],
    ),
    "target_type": dict(
        type="list",
        elements="str",
        description=[
            "Only entries acting on this kind of resource, such as C(vm), C(volume), C(vpc),"
            " C(api_key).",
            _GLOB_TEXT,
            _LIST_TEXT,
        ],
    ),
    "method": dict(
        type="list",
        elements="str",
        description=["Only entries of this HTTP method (C(GET), C(POST), C(PATCH), C(DELETE));"
                     " case-insensitive.", _LIST_TEXT],
    ),
    "path": dict(
        type="list",
        elements="str",
        description=[
            "Only entries whose request path matches this glob pattern, case-insensitively,"
            " over the whole path: C(/v1/compute/vms/*) for every VM sub-path, C(*firewall*)"
            " for a substring.",
            _LIST_TEXT,
        ],
    ),
    "client_ip": dict(
        type="list",
        elements="str",
        description=[
            "Only entries from this client address or CIDR range, IPv4 or IPv6"
            " (C(203.0.113.7), C(10.0.0.0/8), C(2001:db8::/32)).",
            _LIST_TEXT,
        ],
    ),
    "status_code": dict(
        type="list",
        elements="str",
        description=[
            "Only entries whose audited request got this HTTP status: a code (C(404)), an"
            " inclusive range (C(400-499)) or a class (C(5xx)).",
            _LIST_TEXT,
        ],
    ),
    "page_size": dict(
        type="int",
        default=MAX_PAGE_SIZE,
        description=["Entries asked for per request, from %d to %d." % (MIN_PAGE_SIZE, MAX_PAGE_SIZE),
                     "Larger pages mean fewer round trips."],
    ),
    "max_results": dict(
        type="int",
        description=[
            "Stop after this many matching entries. By default every match is returned.",
            "When the list was cut short the result says so, with a cursor to resume from.",
        ],
    ),
    "order": dict(
        type="str",
        default="newest_first",
        choices=list(ORDERS),
        description=[
            "Order of the entries: by creation time, newest or oldest first.",
            "Asked of the server with C(sort); entries are re-ordered on the client when a"
            " server ignores it.",
        ],
    ),
}

RESUME_OPTIONS = {
    "cursor": dict(
        type="str",
        no_log=False,
        description=[
            "Resume a scan that was cut short by O(max_results): pass the RV(next_cursor) of"
            " the previous result, with the same filters.",
            "The cursor remembers the resolved time window, so relative O(since) and O(until)"
            " do not move between the two calls.",
        ],
    ),
}

# Keys of the schema that are documentation only or plugin configuration sources.
_DOC_ONLY = ("description", "env", "vars", "ini")
_ARGSPEC_KEYS = ("type", "elements", "default", "choices", "required", "no_log")


def argument_spec(*groups):
    """AnsibleModule argument spec for the given option groups.

    Connection options fall back to their environment variables, as the plugins do.
    """
    from ansible.module_utils.basic import env_fallback

    spec = {}
    for group in groups:
        for name, schema in group.items():
            arg = dict((k, copy.deepcopy(v)) for k, v in schema.items() if k in _ARGSPEC_KEYS)
            if schema.get("env"):
                arg["fallback"] = (env_fallback, list(schema["env"]))
            spec[name] = arg
    return spec


def doc_options(*groups, **kwargs):
    """The ``options`` mapping of a DOCUMENTATION block for the given groups.

    ``plugin=True`` adds the ``env``, ``vars`` and ``ini`` sources that lookup plugins read;
    modules document only the environment fallback, in the description.
    """
    plugin = kwargs.get("plugin", False)
    options = {}
    for group in groups:
        for name, schema in group.items():
            doc = dict((k, copy.deepcopy(v)) for k, v in schema.items()
                       if k not in _DOC_ONLY and k != "no_log")
            doc["description"] = list(schema["description"])
            if plugin:
                if schema.get("env"):
                    doc["env"] = [{"name": env} for env in schema["env"]]
                if schema.get("vars"):
                    doc["vars"] = [{"name": var} for var in schema["vars"]]
                if schema.get("ini"):
                    doc["ini"] = [{"section": INI_SECTION, "key": schema["ini"]}]
                # Plugins report a missing key with their own message, after every source
                # was read; ``required`` would fail before that.
                doc.pop("required", None)
            elif schema.get("env"):
                doc["description"].append(
                    "If not set, the environment variable E(%s) is used." % schema["env"][0])
            options[name] = doc
    return options
