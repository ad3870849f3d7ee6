# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workers of a parallel read: threads with a Transport each, and the one back-off
they share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading


# After a back-off, the number of requests in flight is raised by one for each quiet period
# (no back-off) of twice the last wait, and at least this many seconds.
MIN_QUIET = 1.0
# Requests per second are paced at the rate a limit let through times this, so that a token
# bucket drains slowly (a 429 now and then re-measures it) instead of at every burst.
PACE_HEADROOM = 1.05
# Each quiet period also lets the pace rise by this factor: a limit that was raised is found.
PACE_RAISE = 1.1


class BackoffGate(object):
    """One back-off for every slice, and the number of requests they may have in flight.

    A 429 or 5xx seen by one worker holds all of them until its wait (``Retry-After`` when the
    server gave one) has passed, and halves the requests allowed in flight (once per back-off:
    the answers of requests already sent do not halve it again), down to one. Each quiet
    period after that (twice the last wait, at least MIN_QUIET seconds, with no back-off)
    allows one more, up to ``limit``: additive increase, multiplicative decrease, so a read
    settles at what a rate limit allows instead of meeting it with every worker at once.

    Fewer requests in flight do not slow a read enough when the server answers fast (one
    request in flight at 25 ms is 40 a second): from the second rate-limit back-off on, the
    starts of requests are also paced at the rate that got through since the first one
    (successes over time, waits included: what the server's limit really allows), a little
    above it, rising with each quiet period. A token bucket then empties seldom, so 429s stay
    few and the read keeps close to the limit.
    """

    def __init__(self, clock, sleep, limit=None):
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._not_before = None
        self.ceiling = self.allowed = self.lowest = limit  # None: no cap
        self.in_flight = 0
        self.backoffs = 0
        self._raise_at = None
        self._quiet = MIN_QUIET
        self.successes = 0
        self._first_limit = None  # (time, successes) at the first rate-limit back-off
        self.interval = None  # seconds between request starts; None: not paced
        self._next_start = 0.0

    def _pace(self, now):
        """At a new rate-limit back-off: pace at what got through since the first one."""
        if self._first_limit is None:
            self._first_limit = (now, self.successes)
            return
        since, base = self._first_limit
        if now > since and self.successes > base:
            rate = (self.successes - base) / (now - since)
            self.interval = 1.0 / (rate * PACE_HEADROOM)

    def hold(self, delay, holder, limited=False):
        """A wait of ``delay`` seconds seen by ``holder``; ``limited``: the server said 429
        (a rate limit), which also paces the requests."""
        with self._cond:
            now = self._clock()
            until = now + delay
            active = self._not_before is not None and now < self._not_before[0]
            if self._not_before is None or until > self._not_before[0]:
                self._not_before = (until, holder)
            if active:
                return  # the same back-off: one decrease for it
            self.backoffs += 1
            if limited:
                self._pace(now)
            self._quiet = max(MIN_QUIET, 2.0 * delay)
            self._raise_at = until + self._quiet
            if self.allowed is not None:
                self.allowed = max(1, self.allowed // 2)
                self.lowest = min(self.lowest, self.allowed)

    def pass_through(self, caller):
        """Wait for a back-off another worker started (the one that started it has waited),
        then for a place among the requests allowed in flight; ``release`` gives it back."""
        with self._cond:
            not_before, holder = self._not_before or (None, None)
        if not_before is not None and holder is not caller:
            wait = not_before - self._clock()
            if wait > 0:
                self._sleep(wait)
        with self._cond:
            while self.allowed is not None and self.in_flight >= self.allowed:
                self._cond.wait()
            self.in_flight += 1
            pause = 0.0
            if self.interval is not None:
                now = self._clock()
                start = max(now, self._next_start)
                self._next_start = start + self.interval
                pause = start - now
        if pause > 0:
            self._sleep(pause)

    def release(self, caller, succeeded):
        """The request ``pass_through`` let go has ended; a success after a quiet period
        allows one more in flight."""
        with self._cond:
            self.in_flight -= 1
            if succeeded:
                self.successes += 1
            if succeeded and self._raise_at is not None and self._clock() >= self._raise_at:
                raised = False
                if self.allowed is not None and self.allowed < self.ceiling:
                    self.allowed += 1
                    raised = True
                if self.interval is not None:
                    self.interval /= PACE_RAISE
                    raised = True
                if raised:
                    self._raise_at = self._clock() + self._quiet
            self._cond.notify_all()

    def summary(self):
        """For the read's report: back-offs and the fewest requests allowed in flight."""
        with self._cond:
            return {"backoffs": self.backoffs, "fewest_in_flight": self.lowest}


class Workers(object):
    """Threads with a Transport each (a sibling of the client's: same settings, same key
    holder, its own Session), running tasks handed to them in order.

    The transports are a pool kept for the whole read: a thread borrows one for its life and
    gives it back, so the probes of every planning round and then the slices reuse the same
    keep-alive connections, at most ``count`` of them (one per thread running at a time)."""

    def __init__(self, transport, count, gate):
        self._base, self._gate = transport, gate
        self._count = count
        self._transports = []
        self._idle = []
        self._lock = threading.Lock()

    def _borrow(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        own = self._base.sibling(gate=self._gate)
        with self._lock:
            self._transports.append(own)
        return own

    def _give_back(self, transport):
        with self._lock:
            self._idle.append(transport)

    def _run(self, task):
        transport = self._borrow()
        try:
            task(transport)
        finally:
            self._give_back(transport)

    def run_all(self, tasks):
        """Run callables on the workers; return their results in order, or raise the first
        error (in order)."""
        results = [None] * len(tasks)
        errors = [None] * len(tasks)
        position = [0]
        lock = threading.Lock()

        def work(transport):
            while True:
                with lock:
                    index = position[0]
                    position[0] += 1
                if index >= len(tasks):
                    return
                try:
                    results[index] = tasks[index](transport)
                except Exception as err:  # pylint: disable=broad-except
                    errors[index] = err  # re-raised below, in the caller's thread

        threads = [threading.Thread(target=self._run, args=(work,))
                   for dummy in range(min(self._count, len(tasks)))]
        for thread in threads:
            thread.daemon = True
            thread.start()
        for thread in threads:
            thread.join()
        for err in errors:
            if err is not None:
                raise err
        return results

    def start(self, task, count):
        """Start ``count`` threads running ``task(transport)``; return them."""
        threads = []
        for dummy in range(count):
            thread = threading.Thread(target=self._run, args=(task,))
            thread.daemon = True
            thread.start()
            threads.append(thread)
        return threads

    @property
    def requests_sent(self):
        return sum(t.requests_sent for t in self._transports)

    def close(self):
        for transport in self._transports:
            transport.close()
