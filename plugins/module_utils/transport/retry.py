# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retry policy of the provider's official SDKs (contract, "Errors and retries").

Connection errors, timeouts and the statuses 408, 409, 429 and 5xx are retried;
``x-should-retry`` overrides that; the wait comes from ``Retry-After-Ms``, else ``Retry-After``
(seconds or an HTTP date) when it is between 0 and 60 s, else 0.5 s x 2^n capped at 8 s minus
up to 25 % jitter. The clock and the random source are the caller's, so tests observe waits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption

DEFAULT_MAX_RETRIES = 2
RETRYABLE_STATUSES = frozenset([408, 409, 429])
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server-given wait is honoured only below this, as the SDKs do; beyond it, back-off applies.
MAX_SERVER_WAIT = 60.0
MAX_RETRIES_LIMIT = 10


def valid_max_retries(max_retries):
    if max_retries is None:
        return DEFAULT_MAX_RETRIES
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) \
            or not 0 <= max_retries <= MAX_RETRIES_LIMIT:
        raise InvalidOption("max_retries", "must be a whole number from 0 to %d"
                            % MAX_RETRIES_LIMIT)
    return max_retries


def should_retry(response):
    forced = response.headers.get("x-should-retry", "").strip().lower()
    if forced == "true":
        return True
    if forced == "false":
        return False
    return response.status_code in RETRYABLE_STATUSES or response.status_code >= 500


def retry_delay(response, attempt, clock, rand):
    """Seconds to wait before retry number ``attempt`` (0-based); ``response`` is None after
    a connection error."""
    server_wait = _server_wait(response.headers, clock) if response is not None else None
    if server_wait is not None:
        return server_wait
    delay = min(INITIAL_RETRY_DELAY * (2 ** attempt), MAX_RETRY_DELAY)
    return delay * (1 - rand() * 0.25)


def _server_wait(headers, clock):
    wait = None
    value = headers.get("retry-after-ms")
    if value:
        try:
            wait = float(value) / 1000.0
        except ValueError:
            wait = None
    if wait is None and headers.get("retry-after"):
        value = headers["retry-after"].strip()
        try:
            wait = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                wait = when.timestamp() - clock()
            except (TypeError, ValueError, IndexError, OverflowError):
                wait = None
    if wait is not None and 0 < wait < MAX_SERVER_WAIT:
        return wait
    return None
