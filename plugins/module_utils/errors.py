# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the audit-log client.

Every message is built from the option name, the HTTP status and the response body text,
never from request headers, so no error can carry the API key. Adapters turn these into
``fail_json`` (module) or ``AnsibleLookupError`` (lookup) without adding anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
# A bearer token anywhere in a text: the scheme (any case), white space, the token's characters
# (RFC 6750 b64token, and whatever else is not white space, a quote or a separator).
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)(?!\*{8})[^\s\"',;<>]+")


def mask_secrets(text, secrets=()):
    """``text`` with every given secret and every ``Bearer <token>`` masked. Call it on the
    whole text, before shortening it, so no prefix of a secret can survive a cut."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return _BEARER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


class AuditLogError(Exception):
    """Base class: anything the client raises on purpose. Its message never holds a
    ``Bearer`` token: one is masked here, whatever built the message."""

    status = None

    def __init__(self, message, status=None):
        message = mask_secrets(message)
        super(AuditLogError, self).__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self):
        return self.message


class InvalidOption(AuditLogError):
    """A value was refused before any request was made; ``option`` names it."""

    def __init__(self, option, message):
        super(InvalidOption, self).__init__("%s: %s" % (option, message))
        self.option = option


class TransportError(AuditLogError):
    """No usable HTTP response: connection refused or reset, timeout, TLS failure."""


class TLSError(TransportError):
    """The TLS handshake failed (untrusted or mismatched certificate); never retried."""


class UnsafeRedirectError(TransportError):
    """The server redirected somewhere the API key must not follow (another origin)."""


class BadResponseError(AuditLogError):
    """A response that is not what the contract promises (bad or non-standard JSON, a field
    of the wrong type, a body past the size cap, a cursor that repeats, more entries than the
    server said exist)."""


class ApiError(AuditLogError):
    """The API answered with an error status."""

    def __init__(self, message, status):
        super(ApiError, self).__init__(message, status=status)


class AuthError(ApiError):
    """401 or 403: the key is missing, wrong or not allowed."""


class NotFoundError(ApiError):
    """404: no entry has that id."""


class RateLimitedError(ApiError):
    """429 after every retry was spent."""


class ReportError(AuditLogError):
    """An evidence bundle that cannot be reported on (missing, unverified, not JSONL)."""
