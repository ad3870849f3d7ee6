# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the entries are read, never which ones: page size, caps, parallel slices and guards.

The names are the client's ``READ_SETTING_NAMES`` (``client.read_arguments`` turns them into
the arguments of ``read``/``scan``); a test holds them equal. Bounds mirror the core's checks,
with its messages, so ``0`` is refused instead of being taken for "not set".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.slices import (
    DEFAULT_PARALLELISM,
    MAX_PARALLELISM,
    MIN_PARALLELISM,
    MIN_SLICE_PAGES,
    SPILL_ENTRIES,
)

READ_OPTIONS = {
    "page_size": dict(
        type="int",
        default=MAX_PAGE_SIZE,
        minimum=MIN_PAGE_SIZE,
        maximum=MAX_PAGE_SIZE,
        description=["Entries asked for per request, from %d to %d." % (MIN_PAGE_SIZE, MAX_PAGE_SIZE),
                     "Larger pages mean fewer round trips."],
    ),
    "max_results": dict(
        type="int",
        minimum=1,
        description=[
            "Stop after this many matching entries. By default every match is returned.",
            "When the list was cut short the result says so, with a cursor to resume from.",
        ],
    ),
    "parallelism": dict(
        type="int",
        default=DEFAULT_PARALLELISM,
        minimum=MIN_PARALLELISM,
        maximum=MAX_PARALLELISM,
        description=[
            "How many time slices of the window are read at once, from %d to %d; C(1) reads"
            " sequentially." % (MIN_PARALLELISM, MAX_PARALLELISM),
            "Used only when both O(since) and O(until) are set, O(max_results) and a resume"
            " C(cursor) are not, and the server honours the time bounds (checked on its"
            " answers, not assumed). Otherwise the read is sequential and the result's C(scan.parallel)"
            " says why.",
            "Requests: the window's first page gives its total; ranges holding more than their"
            " share are split and each part's first page is read, which is then that slice's"
            " first page. Each slice is its own cursor chain. Every slice holds at least %d"
            " pages, so a window of fewer than %d pages (O(page_size) x %d entries) is read"
            " sequentially, and the extra requests of a larger one (partial last pages,"
            " balancing) stay within 10 %% of a sequential read's." % (
                MIN_SLICE_PAGES, 2 * MIN_SLICE_PAGES, 2 * MIN_SLICE_PAGES),
            "Connections: the read's requests share one pool of at most this many keep-alive"
            " connections, plus the client's own. A retry wait (C(Retry-After)) seen by one"
            " slice holds every slice and halves the requests in flight, down to one; each"
            " quiet period after it (twice the wait, at least a second) allows one more, so a"
            " rate-limited read settles at what the limit allows.",
            "The entries and their order are exactly those of a sequential read. Memory: slices"
            " read ahead of their turn wait in memory (the module and the lookup return every"
            " entry anyway); M(nirvana_labs.audit.audit_log_export) spills them to"
            " temporary files in blocks of %d entries, so about a page a slice waits in"
            " memory." % SPILL_ENTRIES,
        ],
    ),
    "max_pages": dict(
        type="int",
        minimum=1,
        description=[
            "Stop after requesting this many pages, a guard against a server that never ends"
            " its list. By default there is no page limit.",
            "A scan stopped by it is not complete (its result says so, with the reason).",
        ],
    ),
    "scan_timeout": dict(
        type="float",
        above=0,
        description=[
            "Stop requesting further pages once the scan has run this many seconds, a guard"
            " for the whole list (O(timeout) bounds each request). By default there is none.",
            "A scan stopped by it is not complete (its result says so, with the reason).",
        ],
    ),
}
