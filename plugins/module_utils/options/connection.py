# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every plugin that reads the API takes, and where the key comes from.

Each one can also be read from an environment variable (``NIRVANA_LABS_*``); the lookup reads
Ansible variables and ``ansible.cfg`` too. Bounds mirror the transport's own checks, with its
messages, so a value is refused the same way before and after the transport sees it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
    DEFAULT_MAX_BODY_BYTES,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.retry import (
    DEFAULT_MAX_RETRIES,
    MAX_RETRIES_LIMIT,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import (
    DEFAULT_TIMEOUT,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    DEFAULT_BASE_URL,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import INI_SECTION

# The transport refuses a per-attempt deadline beyond an hour.
MAX_TIMEOUT = 3600


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
            "Seconds each attempt of a request may take in all: connecting, the response headers"
            " and the whole body. A server that sends slowly (one byte a second) is cut off at"
            " this deadline, not kept alive by each byte.",
            "A retry (see O(max_retries)) gets a fresh deadline.",
            "The default is the official SDKs' 60 seconds.",
        ],
        type="float",
        default=DEFAULT_TIMEOUT,
        above=0,
        maximum=MAX_TIMEOUT,
    ),
    "validate_certs": _conn(
        "validate_certs",
        [
            "Whether to verify the server's TLS certificate.",
            "Set to V(false) only for a test server; prefer O(ca_path) for a private CA.",
            "When V(true) and O(ca_path) is not set, the CA bundle named by the environment"
            " variable E(REQUESTS_CA_BUNDLE), else E(CURL_CA_BUNDLE), is used when set; else"
            " the CA store of C(certifi) that C(requests) ships with.",
        ],
        type="bool",
        default=True,
    ),
    "ca_path": _conn(
        "ca_path",
        ["PEM file of CA certificates to verify the server with, instead of the default store"
         " (see O(validate_certs))."],
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
        minimum=0,  # documented: no retries
        maximum=MAX_RETRIES_LIMIT,
    ),
    "use_proxy": _conn(
        "use_proxy",
        [
            "Whether an C(https://) O(base_url) may go through the proxy named by the environment"
            " variable E(HTTPS_PROXY) (else E(ALL_PROXY)), unless E(NO_PROXY) lists the host.",
            "The proxy is only ever a C(CONNECT) tunnel: it sees the host name, never the key"
            " or the entries.",
            "A plain C(http://) O(base_url) (a loopback emulator or gateway) never goes through"
            " a proxy, whatever this option and E(HTTP_PROXY) say, because the key would reach"
            " the proxy in clear text.",
            "V(false) ignores every proxy variable.",
        ],
        type="bool",
        default=True,
    ),
    "max_body_bytes": _conn(
        "max_body_bytes",
        [
            "Most bytes of one response body the collection reads, after decompression. A"
            " larger body (or a compressed body that expands past it) fails the request with"
            " an error instead of exhausting memory.",
            "The default, %d MiB, is generous for a page of 100 entries." % (
                DEFAULT_MAX_BODY_BYTES // (1024 * 1024)),
        ],
        type="int",
        default=DEFAULT_MAX_BODY_BYTES,
        minimum=1024,
    ),
}


def missing_key_message(plugin=False):
    """Where the key can come from, in the order the plugin (or a module) reads them."""
    schema = CONNECTION_OPTIONS["api_key"]
    if plugin:
        return ("api_key: required; pass api_key=..., or set the variable %s, the environment"
                " variable %s, or %s in the [%s] section of ansible.cfg"
                % (schema["vars"][0], schema["env"][0], schema["ini"], INI_SECTION))
    return ("api_key: required; set the api_key option (for all modules of the collection at"
            " once with module_defaults group/nirvana_labs.audit.audit, fed from the variable"
            " %s) or the environment variable %s" % (schema["vars"][0], schema["env"][0]))


# What the modules that read the API require, in one place (their attributes fragment).
API_MODULE_REQUIREMENTS = ["requests"]
# The shared ``attributes`` block of the modules that read the API (``action_group``: the
# group through which ``module_defaults`` sets the connection once).
API_MODULE_ATTRIBUTES = {
    "diff_mode": {"support": "none"},
    "platform": {
        "platforms": "posix",
        "details": ["Any host with Python and C(requests) that can reach the API, usually the"
                    " controller."],
    },
    "action_group": {
        "description": "Use C(group/nirvana_labs.audit.audit) in C(module_defaults) to set"
                       " defaults for this module.",
        "support": "full",
        "membership": ["nirvana_labs.audit.audit"],
    },
}
