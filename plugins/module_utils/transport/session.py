# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session and what it is built from: requests, the key holder, the timeout, TLS.

The key lives in one object, ``BearerAuth``; it also masks the key in any text that is about
to become a message, so every message built from server text is scrubbed by the one object
that knows the key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

try:
    import requests
    from requests.auth import AuthBase
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    AuthBase = object
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.nirvana_labs.audit.plugins.module_utils.deadline import WatchedAdapter
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    InvalidOption,
    TransportError,
    mask_secrets,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.version import COLLECTION_VERSION

# The official SDKs default to a 60 s timeout and 2 retries (contract, "Where and how").
DEFAULT_TIMEOUT = 60.0
# What a new user needs after a TLS failure: the usual fixes, named as the options are.
TLS_HINT = (". If the server's certificate is signed by a private CA, set ca_path (or"
            " NIRVANA_LABS_CA_PATH) to that CA's PEM file; a local emulator without TLS is"
            " reached with an http:// base_url")


class BearerAuth(AuthBase):
    """Holds the key: the only place it lives. Being an auth object also stops requests from
    replacing the header with credentials from ~/.netrc."""

    def __init__(self, api_key):
        self.api_key = api_key

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self.api_key
        return request

    def mask(self, text):
        """``text`` with the key (and any ``Bearer`` token) masked: call it on server text
        before that text is cut or put into a message."""
        return mask_secrets(text, (self.api_key,))

    def __repr__(self):
        return "<bearer auth>"


def key_holder(api_key):
    """The BearerAuth of a usable key, or InvalidOption (also when requests is missing, a
    TransportError, since nothing could be sent)."""
    if not HAS_REQUESTS:
        raise TransportError("the Python library 'requests' is required")
    if not isinstance(api_key, str) or not api_key.strip():
        raise InvalidOption("api_key", "is required; set it or NIRVANA_LABS_API_KEY")
    if any(c in api_key for c in "\r\n\0"):
        raise InvalidOption("api_key", "contains a line break or NUL character")
    return BearerAuth(api_key.strip())


def valid_timeout(timeout):
    try:
        timeout = float(timeout if timeout is not None else DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        raise InvalidOption("timeout", "must be a number of seconds")
    if not 0 < timeout <= 3600:
        raise InvalidOption("timeout", "must be more than 0 and at most 3600 seconds")
    return timeout


def tls_verify(validate_certs, ca_path):
    """requests' ``verify``: False, a CA bundle's path, or True."""
    verify = bool(validate_certs) if validate_certs is not None else True
    if verify and ca_path:
        if not os.path.exists(ca_path):
            raise InvalidOption("ca_path", "%s does not exist" % ca_path)
        return ca_path
    if verify:
        # What requests does with trust_env, done here because trust_env is off (below).
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return False


def default_user_agent():
    return "nirvana_labs.audit/%s (Ansible collection) python-requests/%s" % (
        COLLECTION_VERSION, requests.__version__)


def open_session(watchdog, user_agent, accept_encoding):
    """A Session whose connections are watched by ``watchdog`` (the per-attempt deadline)."""
    session = requests.Session()
    session.mount("http://", WatchedAdapter(watchdog))
    session.mount("https://", WatchedAdapter(watchdog))
    # Nothing is taken from the environment implicitly (proxies, ~/.netrc, CA bundle):
    # proxies are chosen per request (proxies.py), the CA bundle by tls_verify.
    session.trust_env = False
    session.headers.update({
        "Accept": "application/json",
        "Accept-Encoding": accept_encoding,
        "User-Agent": user_agent,
    })
    return session
