# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The URLs the transport will talk to: the base URL's rules, an id as one path segment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported; keeps the import test calm
    quote = urlsplit = None

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption

DEFAULT_BASE_URL = "https://api.nirvanalabs.io"


def is_loopback(host):
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url):
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def host_of(url):
    """The host and port of ``url`` as a message shows it (never its user info)."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def validate_base_url(base_url):
    """Normalise the base URL, or raise InvalidOption saying what is wrong with it."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidOption("base_url", "must be a URL such as %s" % DEFAULT_BASE_URL)
    base_url = base_url.strip().rstrip("/")
    try:
        parts = urlsplit(base_url)
        parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise InvalidOption("base_url", "%r is not a valid URL (%s)" % (base_url, err))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOption("base_url", "%r is not an http:// or https:// URL with a host"
                            % (base_url,))
    if parts.username or parts.password:
        raise InvalidOption("base_url", "must not contain credentials; use api_key")
    if parts.query or parts.fragment:
        raise InvalidOption("base_url", "must not contain a query or a fragment")
    _refuse_api_path(base_url, parts)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidOption("base_url", "plain http:// is only allowed to a loopback address;"
                            " the API key would cross the network unencrypted. Use https://")
    return base_url


def _refuse_api_path(base_url, parts):
    """A base URL that already holds the API's version (or the whole endpoint) would be
    requested as /v1/v1/audit_logs: say which part to drop instead of a 404 later."""
    path = parts.path.rstrip("/").lower()
    for suffix in ("/v1/audit_logs", "/v1"):
        if path.endswith(suffix):
            suggestion = base_url[:len(base_url) - len(parts.path)] + parts.path[:-len(suffix)]
            raise InvalidOption(
                "base_url", "%r ends in %s, which the collection adds itself (requests would"
                " go to %s/v1/audit_logs); drop %s and use %r"
                % (base_url, parts.path[-len(suffix):], parts.path, parts.path[-len(suffix):],
                   suggestion))


def encode_segment(value):
    """Percent-encode an id as exactly one path segment.

    ``quote`` with no safe characters encodes ``/``, ``?``, ``#`` and ``%``; a lone ``.`` or
    ``..`` would still be a dot-segment that URL normalisation removes, so those are refused.
    """
    if not isinstance(value, str) or not value:
        raise InvalidOption("id", "must be a non-empty string")
    if value in (".", ".."):
        raise InvalidOption("id", "%r is not an audit log id" % (value,))
    return quote(value, safe="")
