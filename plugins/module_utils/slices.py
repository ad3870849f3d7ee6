# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel time slices: one bounded window read as disjoint time ranges, concurrently.

Cursor paging is sequential, but disjoint time ranges are independent cursor chains. When the
server honours ``created_at_min``/``created_at_max`` (checked on its answers, never assumed
from a version) and the window has both ends, the window is split into slices balanced by the
server's ``total_count``, each slice is scanned by its own ``Scan`` on a worker's own
``Transport`` (own Session, own keep-alive connection), and the slices are concatenated in time
order: they are disjoint, so that concatenation is the sequential result, entry for entry.

Planning costs few requests: the whole window's first page (which the sequential read would
send anyway and reuses when it falls back) gives the total; a range holding more than its share
is split in equal time parts and each part's first page is fetched, which is also that slice's
first page when the part is kept. Only the pages of ranges that get split again are spent on
balancing. ``max_results`` and resume cursors read sequentially: a resume token names one
cursor chain, so a parallel read could not issue one.

What slicing costs the server, and the rule that bounds it: each slice ends on a partial page
(half a page on average, at most one), and each range split again costs its probe. So every
slice holds at least MIN_SLICE_PAGES (10) pages: a window of fewer than 2 x 10 pages (2,000
entries at page size 100) is read sequentially, as slicing cannot pay for itself there, and a
larger one in at most ``pages // 10`` slices (rounded down to a multiple of ``parallelism``
when fewer than two per worker, so the workers finish together), which keeps the extra
requests near 5 % and under 10 %. A range is split again only when it holds more than 1.5 x
its share. All requests of a read go through one pool of ``parallelism`` keep-alive
connections (workers.py) and one back-off that also lowers the requests in flight after a
429 or 5xx and raises them again while the server allows it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import threading

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import flattened
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.once import IteratedOnce
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import NEWEST_FIRST
from ansible_collections.nirvana_labs.audit.plugins.module_utils.prefetch import Prefetched
from ansible_collections.nirvana_labs.audit.plugins.module_utils.reconcile import (
    CheckedQuery,
    ceil_second,
    floor_second,
    union_verdict,
    verdict,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import (
    LIST_PATH,
    Scan,
    first_page_params,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan_report import (
    merged_completeness,
    scan_report,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.spill import (
    SPILL_ENTRIES,
    SliceBuffer,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import format_utc
from ansible_collections.nirvana_labs.audit.plugins.module_utils.workers import (
    BackoffGate,
    Workers,
)

# SPILL_ENTRIES is re-exported: the schema documents it from here.
__all__ = ["DEFAULT_PARALLELISM", "MAX_PARALLELISM", "MIN_PARALLELISM", "MIN_SLICE_PAGES",
           "ParallelScan", "SPILL_ENTRIES", "parallel_refusal", "plan", "slice_count"]

MIN_PARALLELISM = 1
MAX_PARALLELISM = 16
DEFAULT_PARALLELISM = 8
# Slices aimed at: workers take slices in turn, so the read ends up to one slice after the
# work is shared out evenly; more, smaller slices shorten that tail, while each costs a partial
# last page and deeper splitting costs probes. At least MIN_SLICES, and two per worker beyond
# that. Measured (bench section 8, 100,000 entries, 25 ms a request): 32 slices instead of 16
# took parallelism 8 from 4.8 s to 4.45 s and 2 from 16.8 s to 15.7 s with the same 7 probes;
# four per worker at parallelism 16 (64) cost 59 probes for no gain.
SLICES_PER_WORKER = 2
MIN_SLICES = 32
# Each slice holds at least this many pages: its partial last page then costs at most 10 %.
MIN_SLICE_PAGES = 10
# A range is split again only when it holds more than this many times its share.
SPLIT_SLACK = 1.5
# A range is split into at most this many parts per round, and rounds are few.
MAX_SPLIT = 32
MAX_ROUNDS = 4
# A range shorter than this is not split further (entries carry whole seconds at least).
_TINY = datetime.timedelta(seconds=2)


class _PrimedTransport(object):
    """A transport that answers one request from a page already fetched: the page a probe
    brought back is the first page of its slice (or of the sequential fallback)."""

    def __init__(self, transport, params, page):
        self._transport = transport
        self._primed = (dict(params), page)

    def get_json(self, path, params=None):
        if self._primed is not None and path == LIST_PATH and params == self._primed[0]:
            page, self._primed = self._primed[1], None
            return page
        return self._transport.get_json(path, params)


def parallel_refusal(query, parallelism, max_results, cursor, push_down=True):
    """Why this read cannot be parallel (a short sentence), or None when it may be.
    InvalidOption when ``parallelism`` is out of bounds."""
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) \
            or not MIN_PARALLELISM <= parallelism <= MAX_PARALLELISM:
        raise InvalidOption("parallelism", "must be a whole number from %d to %d"
                            % (MIN_PARALLELISM, MAX_PARALLELISM))
    if parallelism == 1:
        return "parallelism is 1"
    if cursor:
        return "resuming from a cursor: a cursor continues one sequential cursor chain"
    if max_results is not None:
        return ("max_results is set: a truncated read must issue a resume cursor, which names"
                " one sequential cursor chain")
    if not push_down:
        return "filters are not sent to the server"
    if query.since is None or query.until is None:
        return "the window is not bounded (set both since and until)"
    return None


class _Range(object):
    """A time range [since, until) of the window, with its first page once probed. The bounds
    sent are whole seconds (``low``/``high``, both inclusive there): the split points are
    whole seconds and the window's own ends are widened to them, so a server that truncates
    fractional bounds filters exactly what it was asked; the client re-check keeps the exact
    window."""

    def __init__(self, query, since, until):
        self.since, self.until = since, until
        self.query = query.with_window(format_utc(since), format_utc(until))
        self.low, self.high = floor_second(since), ceil_second(until)
        self.page = None
        self.count = None

    def checked(self, distinct=True):
        """The query a scan of this range uses: the whole-second bounds sent, every received
        entry checked (see reconcile.CheckedQuery)."""
        return CheckedQuery(self.query, self.low, self.high, distinct)

    def params(self, page_size):
        return first_page_params(self.checked(), page_size)

    def split(self, parts):
        """At most ``parts`` ranges, split at whole seconds (fewer when the range spans too
        few seconds)."""
        step = (self.until - self.since) / parts
        points = sorted(set(floor_second(self.since + step * i) for i in range(1, parts)))
        bounds = [self.since] + [p for p in points if self.since < p < self.until] \
            + [self.until]
        return [_Range(self.query, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]

    def take_page(self):
        """The probed first page, handed over once: a slice's scan owns it from then on, so
        the plan holds no page while the slices run."""
        page, self.page = self.page, None
        return page

    def inside(self, entry):
        """The entry lies within the bounds the server was sent (both inclusive there)."""
        created = self.query.entry_time(entry) if isinstance(entry, dict) else None
        return created is not None and self.low <= created <= self.high

    def page_inside(self):
        """The probed first page is a list of entries all within the bounds, and not empty
        when the count says there are some."""
        items = self.page.get("items") if isinstance(self.page, dict) else None
        return isinstance(items, list) and all(self.inside(e) for e in items) \
            and (bool(items) or not self.count)


def _count(page):
    pagination = page.get("pagination") if isinstance(page, dict) else None
    total = pagination.get("total_count") if isinstance(pagination, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _probe(page_size):
    def probe(rng):
        def task(transport):
            rng.page = transport.get_json(LIST_PATH, rng.params(page_size))
            rng.count = _count(rng.page)
            return rng
        return task
    return probe


_IGNORED = ("the server does not honour created_at_min/created_at_max (its answers for"
            " sub-ranges ignored their bounds)")


def _honours_bounds(parent, children):
    """None when the server filtered the children's pages by their bounds and counted them
    consistently with the parent, else why not (a sentence).

    Checked on answers already fetched, for every range split at every level: every entry of
    each child's first page lies inside that child's bounds, and the children's counts add up
    to at least the parent's (more by the entries on the shared boundaries, which inclusive
    bounds count twice). A server ignoring the bounds answers every child with the parent's
    count and the same first page (which cannot lie inside every child); one that loses
    entries only when asked for a narrow range counts fewer in the children than in the
    parent. A loss the counts of one level hide shows when the slices are read (their union
    is compared with the window's count).
    """
    if any(child.count is None or not child.page_inside() for child in children):
        return _IGNORED
    total = sum(child.count for child in children)
    if parent.count and all(child.count == parent.count for child in children):
        return _IGNORED  # (a burst on a shared boundary may well double the sum: not this)
    if total < parent.count:
        return ("the server's counts for parts of a time range (%d together) fall short of"
                " its count for the range (%d)" % (total, parent.count))
    return None


def slice_count(count, page_size, parallelism):
    """How many slices a window of ``count`` entries is planned in (the module docstring's
    rule): below 2, it is read sequentially."""
    wanted = max(MIN_SLICES, parallelism * SLICES_PER_WORKER)
    affordable = count // (MIN_SLICE_PAGES * page_size)
    slices = min(wanted, affordable)
    if parallelism < slices < 2 * parallelism:
        slices -= slices % parallelism  # one each: a ninth slice would make two rounds
    return slices


def _parts(rng, target):
    return min(MAX_SPLIT, max(2, int(round(float(rng.count) / target))))


def _pages(count, page_size):
    return max(1, -(-count // page_size))


def _affordable(families, ranges, spent, whole, page_size):
    """The families (largest first) whose split keeps the read's extra requests within
    MIN_SLICE_PAGES' share of the window's pages. The extra so far is known exactly from the
    counts (a range of n entries costs ceil(n / page_size) pages, at least one, and each
    range split cost its probe); a split of a range into k parts may cost k more."""
    budget = _pages(whole.count, page_size) // MIN_SLICE_PAGES
    extra = spent + sum(_pages(r.count, page_size) for r in ranges) \
        - _pages(whole.count, page_size)
    kept = []
    for parent, kids in sorted(families, key=lambda family: -family[0].count):
        if extra + len(kids) <= budget:
            extra += len(kids)
            kept.append((parent, kids))
    return kept


def plan(workers, whole, page_size, parallelism):
    """Split ``whole`` (already probed) into balanced, probed ranges. Returns (ranges in time
    order, or None when the server's answers rule slices out; probes issued; why not)."""
    slices = slice_count(whole.count, page_size, parallelism)
    if slices < 2:
        return [whole], 0, None
    target = -(-whole.count // slices)
    if not whole.page_inside():
        return None, 0, _IGNORED  # the whole window's first page already shows it
    probe = _probe(page_size)
    done, pending, issued, spent = [], [whole], 0, 0
    for dummy in range(MAX_ROUNDS):
        families = [(r, r.split(_parts(r, target))) for r in pending
                    if r.count > target * SPLIT_SLACK and r.until - r.since > _TINY]
        families = _affordable([(r, kids) for r, kids in families if len(kids) > 1],
                               done + pending, spent, whole, page_size)
        splitting = [r for r, dummy_kids in families]
        spent += len(splitting)
        done.extend(r for r in pending if r not in splitting)
        if not families:
            pending = []
            break
        children = [c for dummy_parent, kids in families for c in kids]
        workers.run_all([probe(c) for c in children])
        issued += len(children)
        for parent, kids in families:  # every level: a lie may show only in narrow ranges
            reason = _honours_bounds(parent, kids)
            if reason:
                return None, issued, reason
        pending = children
    done.extend(pending)
    done.sort(key=lambda r: r.since)
    return done, issued, None


class _Slice(object):
    def __init__(self, rng, spill):
        self.range = rng
        self.buffer = SliceBuffer(spill)
        self.report = None
        self.checker = None
        self.error = None
        self.done = threading.Event()


def _merged_order(query, slices):
    seen = set(s.report["order"]["observed"] for s in slices)
    seen.discard("unknown")
    if not seen:
        return "unknown"
    return seen.pop() if len(seen) == 1 else "unordered"


class ParallelScan(IteratedOnce):
    """An iterable of the entries of a bounded window, read in parallel time slices and
    yielded in the requested order (``batches()``: a spilled block is handed over packed);
    ``report`` (the Scan's keys plus ``parallel``) is complete once iteration has ended.
    Falls back to one sequential Scan, saying why."""

    def __init__(self, transport, query, page_size, parallelism, early_stop=True, spill=True,
                 prefetch=False):
        self._transport = transport
        self.query = query
        self.page_size = page_size
        self.parallelism = parallelism
        self.early_stop = early_stop
        self.spill = spill
        # Slices run ahead of the reader already; only a sequential fallback gains from it.
        self.prefetch = prefetch
        self.report = None

    def _entries(self):
        return flattened(self._batches())

    def _batches(self):
        gate = BackoffGate(self._transport.clock, self._transport.sleep, self.parallelism)
        workers = Workers(self._transport, self.parallelism, gate)
        try:
            whole = _Range(self.query, self.query.since, self.query.until)
            _probe(self.page_size)(whole)(self._transport)
            reason, ranges, issued = None, None, 0
            if whole.count is None:
                reason = "the server gave no total_count to balance slices by"
            else:
                ranges, issued, reason = plan(workers, whole, self.page_size, self.parallelism)
                if ranges is not None and len(ranges) == 1:
                    reason = ("the window holds %d entries, too few for slices of at least %d"
                              " pages each to pay for themselves"
                              % (whole.count, MIN_SLICE_PAGES))
            if reason:
                # Every probe but the whole window's (its first page) was spent on balancing.
                yield from self._sequential(whole, reason, issued)
                return
            # Each probe is a slice's first page, or spent on a range that was split again.
            spent = 1 + issued - len(ranges)
            yield from self._parallel(workers, ranges, spent, whole.count)
            self.report["parallel"].update(gate.summary())
        finally:
            workers.close()

    def _sequential(self, whole, reason, spent):
        """One Scan of the window, with the bounds the probe sent (whole seconds: its first
        page is reused). Unless the server ignored the bounds on that page (the seed
        generation: the Scan's own bounded checks then), every entry is checked as a slice's
        is: a later page that ignores them, or an entry repeated pages apart, cannot pass for
        complete (this remembers the window's ids, as the slices' read does)."""
        honoured = whole.count is not None and whole.page_inside()
        checker = whole.checked(distinct=honoured)
        scan = Scan(_PrimedTransport(self._transport, whole.params(self.page_size),
                                     whole.take_page()),
                    checker, page_size=self.page_size,
                    # bounds the server honours end the list: read to it, count compared
                    early_stop=self.early_stop and not honoured)
        self.report = scan.report
        self.report["parallel"] = {"used": False, "reason": reason, "probes": spent}
        self.report["pages"] += spent
        yield from (Prefetched(scan) if self.prefetch else scan).batches()
        checker.release()
        if honoured:
            verdict(self.report, checker, whole.count, "the window")
            self.report["duplicates"] += checker.repeats

    def _scan_slices(self, slices, stop):
        """The workers' loop: take the next slice in the reader's order, scan it into its
        buffer. A slice is read to its end whatever ``early_stop`` says: its bounds end it
        on an honest server, and only a whole read can be compared with its count (an entry
        on its upper bound, which the next slice owns, would otherwise stop it early)."""
        position = [0]
        lock = threading.Lock()
        page_size = self.page_size

        def work(transport):
            while not stop.is_set():
                with lock:
                    index = position[0]
                    position[0] += 1
                if index >= len(slices):
                    return
                piece = slices[index]
                try:
                    rng = piece.range
                    checker = rng.checked()
                    primed = _PrimedTransport(transport, rng.params(page_size), rng.take_page())
                    scan = Scan(primed, checker, page_size=page_size, early_stop=False)
                    for entry in scan:
                        if stop.is_set():
                            break
                        piece.buffer.add(entry)
                    checker.release()
                    piece.checker = checker
                    piece.report = verdict(scan.report, checker, rng.count, "this time slice")
                except Exception as err:  # pylint: disable=broad-except
                    piece.error = err  # raised by the reader, in its own thread
                    stop.set()
                finally:
                    piece.done.set()
        return work

    def _parallel(self, workers, ranges, spent, total):
        if self.query.order == NEWEST_FIRST:
            ranges = list(reversed(ranges))
        # In the reader's order, so the slice it waits for is always among the first taken.
        order = slices = [_Slice(rng, self.spill) for rng in ranges]
        stop = threading.Event()
        threads = workers.start(self._scan_slices(slices, stop), min(self.parallelism, len(slices)))
        try:
            for piece in order:
                while not piece.done.wait(0.5):
                    failed = [s.error for s in slices if s.error is not None]
                    if failed:
                        raise failed[0]
                if piece.error is not None:
                    raise piece.error
                if piece.report is None:  # stopped because another slice failed
                    raise [s.error for s in slices if s.error is not None][0]
                yield from piece.buffer.batches()
                piece.buffer.close()
            self.report = self._merged_report(order, spent, total)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for piece in slices:
                piece.buffer.close()

    def _merged_report(self, order, spent, total):
        reports = [piece.report for piece in order]
        pushed = self.query.server_params()
        stops = [r["stop_reason"] for r in reports if r["stopped_early"]]
        merged = scan_report(
            pages=sum(r["pages"] for r in reports) + spent,
            scanned=sum(r["scanned"] for r in reports),
            matched=sum(r["matched"] for r in reports),
            duplicates=sum(r["duplicates"] for r in reports)
            + sum(piece.checker.repeats for piece in order),
            total_count=total, pushed_down=pushed, stopped_early=bool(stops),
            stop_reason=stops[0] if stops else None, window=self.query.window,
            order={"requested": self.query.order, "sort_sent": self.query.sort_param(),
                   "observed": _merged_order(self.query, order)},
            parallel={"used": True, "reason": None, "slices": len(order),
                      "workers": min(self.parallelism, len(order)), "probes": spent,
                      "sizes": [r["matched"] for r in reports]})
        merged.update(merged_completeness(reports))
        if merged["complete"] is True:
            in_time = sorted(order, key=lambda piece: piece.range.since)
            merged.update(union_verdict([(p.report, p.checker) for p in in_time], total))
        return merged
