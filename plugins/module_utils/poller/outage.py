# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which poll errors stop the source, and how a run of failed polls is logged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    InvalidOption,
    TLSError,
    UnsafeRedirectError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import utc_now

# API statuses that another poll will not fix: a key or a request that is wrong.
_RETRYABLE_STATUSES = frozenset([408, 409, 429])


def is_fatal(err):
    """Whether an error of a poll means stopping: a refused key, a bad option or address, an
    untrusted certificate, a request the API rejects. Outages (connection errors, timeouts,
    429 and 5xx after the client's retries, a malformed answer) are not: the next poll retries.
    (A 400 on a follow-up page, an expired cursor, never gets here: the poll restarts.)"""
    if isinstance(err, (AuthError, InvalidOption, TLSError, UnsafeRedirectError)):
        return True
    if isinstance(err, ApiError):
        return err.status is not None and 400 <= err.status < 500 \
            and err.status not in _RETRYABLE_STATUSES
    return False


class Outage(object):
    """Failed polls in a row, and what to log about them: the first failure, then the 2nd,
    4th, 8th... (a long outage stays visible without flooding the log), and the recovery.
    Messages come from ``str(err)`` of the client's errors, which never hold the key."""

    def __init__(self, clock=utc_now):
        self.clock = clock
        self.failures = 0
        self.began = None

    def failed(self, err):
        self.failures += 1
        if self.began is None:
            self.began = self.clock()
        if self.failures & (self.failures - 1):
            return None  # not a power of two
        return "audit log poll failed (%d in a row, for %ds): %s; retrying" % (
            self.failures, self._elapsed(), err)

    def recovered(self):
        if not self.failures:
            return None
        message = "audit log polling resumed after %d failed poll(s) over %ds" % (
            self.failures, self._elapsed())
        self.failures, self.began = 0, None
        return message

    def _elapsed(self):
        return int((self.clock() - self.began).total_seconds())
