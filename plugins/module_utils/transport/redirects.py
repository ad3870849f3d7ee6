# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redirects: followed only on the same origin and inside the API's path.

A redirect to another origin is refused, not stripped of the key: data from another origin is
not the API's answer anyway. The Location is server text: it is masked before it is shown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import unquote, urljoin, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported; keeps the import test calm
    unquote = urljoin = urlsplit = None

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    UnsafeRedirectError,
    mask_secrets,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.text import (
    masked_short,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    host_of,
    origin,
)

MAX_REDIRECTS = 5
# The API's own path: a redirect that leaves it is not the API's answer.
API_PATH = "/v1/audit_logs"


def _shown(text, scrub):
    """``text`` (percent-encoded server text) as a message shows it: as sent, unless its
    decoded form holds a secret, which is then shown decoded and masked."""
    decoded = unquote(text)
    return decoded if scrub(decoded) != decoded else text


def follow(url, location, base_url, scrub=mask_secrets):
    """The URL a redirect from ``url`` to ``location`` leads to, or UnsafeRedirectError."""
    target = urljoin(url, location)
    if origin(target) != origin(url):
        raise UnsafeRedirectError(
            "the server redirected to another host (%s); not followed, so the API key is"
            " never sent there" % scrub(_shown(host_of(target), scrub)), status=None)
    api_path = urlsplit(base_url).path + API_PATH
    path = urlsplit(target).path
    segments = unquote(path).split("/")
    if not (path == api_path or path.startswith(api_path + "/")) \
            or "." in segments or ".." in segments:
        raise UnsafeRedirectError(
            "the server redirected to %s, outside the API's path %s; not followed (what is"
            " there is not the API's answer)" % (masked_short(scrub, _shown(path, scrub), 80),
                                                 api_path),
            status=None)
    return target
