# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failures as typed errors: a status and its body, or an exception raised while sending.

Messages come from the status and from server text (a body, an exception's text); ``scrub``
(the key holder's ``mask``) masks the key in that text before it is shortened, and again in
text a JSON body spelled with escapes. Never from request headers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import socket

try:
    from http.client import HTTPException
except ImportError:  # pragma: no cover - Python 2 is not supported; keeps the import test calm
    HTTPException = OSError

try:
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # reported by session.HAS_REQUESTS
    Urllib3Error = OSError

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitedError,
    TLSError,
    TransportError,
    mask_secrets,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
    ERROR_BODY_BYTES,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import (
    TLS_HINT,
    requests,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.text import (
    masked_short,
    short,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import host_of

# What a failed send can raise that is the network's or the server's doing, not ours.
SEND_ERRORS = (OSError, ValueError, HTTPException, Urllib3Error) + (
    (requests.exceptions.RequestException,) if requests is not None else ())


def message_from_body(response, scrub=mask_secrets):
    """A short, human message from an error body: JSON message/error/detail, an HTML page's
    title, or trimmed text. Never headers. ``scrub`` masks secrets in the whole text first,
    so shortening can never leave a prefix of one."""
    body = response.content or b""
    text = scrub(bytes(body).decode("utf-8", "replace"))[:ERROR_BODY_BYTES]
    if not text.strip():
        return "empty response body"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            # Masked again: JSON escapes (\u0041) spell a secret the raw text did not show.
            if isinstance(value, str) and value.strip():
                return masked_short(scrub, value)
            if isinstance(value, list) and value:
                return masked_short(scrub, "; ".join(str(v) for v in value))
        return short(text)
    if "html" in response.headers.get("Content-Type", "").lower() or text.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title and title.group(1).strip():
            return "HTML error page: %s" % short(title.group(1))
        return "HTML error page"
    return short(text)


def status_error(response, attempt, scrub=mask_secrets):
    """The typed error of a final error status, after ``attempt`` retries."""
    status = response.status_code
    detail = message_from_body(response, scrub)
    tried = "" if attempt == 0 else " (after %d attempts)" % (attempt + 1)
    if status in (401, 403):
        return AuthError("the API refused the API key (HTTP %d): %s%s" % (status, detail, tried),
                         status)
    if status == 404:
        return NotFoundError("not found (HTTP 404): %s" % detail, status)
    if status == 429:
        return RateLimitedError("rate limited (HTTP 429): %s%s" % (detail, tried), status)
    return ApiError("the API answered HTTP %d: %s%s" % (status, detail, tried), status)


def send_error(err, url, timeout, deadline_passed, scrub=mask_secrets):
    """The TransportError (or TLSError) of an exception raised while sending to ``url``."""
    host = scrub(host_of(url))
    if requests is not None and isinstance(err, requests.exceptions.SSLError):
        return TLSError("TLS with %s failed: %s%s" % (host, describe(err, scrub), TLS_HINT))
    if deadline_passed or isinstance(err, socket.timeout) or (
            requests is not None and isinstance(err, requests.exceptions.Timeout)):
        return TransportError(
            "no response from %s within %g s (timeout is a deadline for each attempt:"
            " connection, headers and the whole body)" % (host, timeout))
    return TransportError("connection to %s failed: %s" % (host, describe(err, scrub)))


def describe(err, scrub=mask_secrets):
    """The innermost reason, without the URL-and-retry preamble of urllib3's messages."""
    reason = err
    while True:
        # requests wraps as (text, exception): ('Connection aborted.', RemoteDisconnected())
        inner = [a for a in getattr(reason, "args", ()) if isinstance(a, BaseException)]
        if not inner:
            break
        reason = inner[-1]
    inner = getattr(reason, "reason", None)
    if isinstance(inner, BaseException):
        reason = inner
    text = str(reason) or type(reason).__name__
    text = re.sub(r"<[^>]*object at 0x[0-9a-f]+>:?\s*", "", text)
    return masked_short(scrub, text, 160)


def masked(err, scrub):
    """``err`` with ``scrub`` applied to its message once more: the last net, at the
    transport's edge, for any message a future change builds from server text unmasked."""
    message = scrub(err.message)
    if message != err.message:
        err.message = message
        err.args = (message,)
    return err
