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


class AuditLogError(Exception):
    """Base class: anything the client raises on purpose."""

    status = None

    def __init__(self, message, status=None):
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
    """A response that is not what the contract promises (bad JSON, missing ``items``,
    a cursor that repeats)."""


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
