# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy rules: which proxy, if any, one request goes through."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported; keeps the import test calm
    urlsplit = None

from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import requests


def proxies_for(url, use_proxy):
    """The proxies for one request. Plain http (only ever to a loopback address, see
    validate_base_url) never goes through a proxy: a proxy would see the key in clear
    text, and a proxy for a loopback address is never what was meant, so it is bypassed
    rather than refused (a play-level ``environment:`` with HTTP_PROXY keeps working with
    a local gateway or the emulator). https goes through HTTPS_PROXY/ALL_PROXY unless
    NO_PROXY lists the host, and only when use_proxy is true: a CONNECT tunnel, so the
    proxy sees the host name, never the key."""
    if not use_proxy or urlsplit(url).scheme != "https":
        return {}
    found = requests.utils.get_environ_proxies(url)
    return dict((k, v) for k, v in found.items() if k in ("https", "all"))
