# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bounds a scan works within: page size, max_results, and the guards that end a scan
the server would keep going (max_pages, the deadline, more entries than announced)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    BadResponseError,
    InvalidOption,
)

MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def _whole(value):
    return not isinstance(value, bool) and isinstance(value, int)


def check_settings(page_size, max_results, max_pages, deadline):
    """InvalidOption naming the first setting out of its bounds."""
    if not _whole(page_size) or not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
        raise InvalidOption("page_size", "must be a whole number from %d to %d"
                            % (MIN_PAGE_SIZE, MAX_PAGE_SIZE))
    if max_results is not None and (not _whole(max_results) or max_results < 1):
        raise InvalidOption("max_results", "must be a whole number of at least 1")
    if max_pages is not None and (not _whole(max_pages) or max_pages < 1):
        raise InvalidOption("max_pages", "must be a whole number of at least 1")
    if deadline is not None and (isinstance(deadline, bool)
                                 or not isinstance(deadline, (int, float))
                                 or not 0 < deadline < float("inf")):
        raise InvalidOption("deadline", "must be a number of seconds above 0")


def guard_stop(max_pages, deadline, pages, elapsed):
    """(guard, reason) when max_pages or the deadline ends a scan after ``pages`` pages and
    ``elapsed`` seconds, else None. ``elapsed`` is called only when the deadline is set."""
    if max_pages is not None and pages >= max_pages:
        return "max_pages", "stopped after max_pages=%d pages" % max_pages
    if deadline is not None and elapsed() >= deadline:
        return "deadline", "stopped at the deadline of %g s, after %d pages" % (deadline, pages)
    return None


def overrun_allowance(total, page_size):
    """How many entries beyond ``total_count`` are not yet "clearly more": one page and a
    tenth of the count, for entries that arrive while the scan runs (oldest first, a live log
    grows at the end)."""
    return page_size + total // 10


def check_overrun(received, totals, page_size, pages):
    """BadResponseError once the server has sent clearly more than it announced."""
    if not totals:
        return
    total = max(totals)
    if received > total + overrun_allowance(total, page_size):
        raise BadResponseError(
            "the API sent %d entries after saying %d exist (total_count), in %d pages;"
            " stopped instead of following its cursors for ever" % (received, total, pages))
