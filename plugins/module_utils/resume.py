# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resume token (``next_cursor`` of a result): where a scan stopped, and what its
continuation must keep."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan_limits import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
)

_TOKEN_PREFIX = "nla1."


def encode_token(api_cursor, skip, page_size, window, fingerprint):
    """Our resume token: the API cursor of the page in progress and how many of its entries
    were consumed, plus what the continuation must keep (page size, resolved window) and the
    fingerprint of the filters it belongs to."""
    payload = {"c": api_cursor, "s": skip, "n": page_size,
               "w": [window["since"], window["until"]], "f": fingerprint}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token):
    """(api_cursor, skip, page_size, window, fingerprint), or InvalidOption("cursor")."""
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise InvalidOption("cursor", "is not a cursor returned by this collection"
                                      " (use the next_cursor of a previous result)")
    body = token[len(_TOKEN_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payload = json.loads(raw.decode("utf-8"))
        window = payload["w"]
        result = (payload["c"], int(payload["s"]), int(payload["n"]),
                  {"since": window[0], "until": window[1]}, str(payload["f"]))
    except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError):
        raise InvalidOption("cursor", "is damaged; pass the next_cursor value unchanged")
    if result[1] < 0 or not MIN_PAGE_SIZE <= result[2] <= MAX_PAGE_SIZE:
        raise InvalidOption("cursor", "is damaged; pass the next_cursor value unchanged")
    return result
