# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workers of a parallel read: threads with a Transport each, and the one back-off
they share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading


class BackoffGate(object):
    """One back-off for every slice: a 429 or 5xx seen by one worker holds all of them until
    its wait (``Retry-After`` when the server gave one) has passed."""

    def __init__(self, clock, sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before = None

    def hold(self, delay, holder):
        with self._lock:
            until = self._clock() + delay
            if self._not_before is None or until > self._not_before[0]:
                self._not_before = (until, holder)

    def pass_through(self, caller):
        """Wait for a back-off another worker started (the one that started it has waited)."""
        with self._lock:
            not_before, holder = self._not_before or (None, None)
        if not_before is not None and holder is not caller:
            wait = not_before - self._clock()
            if wait > 0:
                self._sleep(wait)


class Workers(object):
    """Threads with a Transport each (a sibling of the client's: same settings, same key
    holder, its own Session), running tasks handed to them in order."""

    def __init__(self, transport, count, gate):
        self._base, self._gate = transport, gate
        self._count = count
        self._local = threading.local()
        self._transports = []
        self._lock = threading.Lock()

    def transport(self):
        own = getattr(self._local, "transport", None)
        if own is None:
            own = self._base.sibling(gate=self._gate)
            with self._lock:
                self._transports.append(own)
            self._local.transport = own
        return own

    def run_all(self, tasks):
        """Run callables on the workers; return their results in order, or raise the first
        error (in order)."""
        results = [None] * len(tasks)
        errors = [None] * len(tasks)
        position = [0]
        lock = threading.Lock()

        def work():
            while True:
                with lock:
                    index = position[0]
                    position[0] += 1
                if index >= len(tasks):
                    return
                try:
                    results[index] = tasks[index](self.transport())
                except Exception as err:  # pylint: disable=broad-except
                    errors[index] = err  # re-raised below, in the caller's thread

        threads = [threading.Thread(target=work) for dummy in range(min(self._count, len(tasks)))]
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
            thread = threading.Thread(target=lambda: task(self.transport()))
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
