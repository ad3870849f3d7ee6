# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-attempt deadline: a watchdog that shuts a request's socket down when it passes.

Socket timeouts bound each read, not the attempt, so a server that drips one byte a second
could keep a request alive for ever. The watchdog learns which connection the attempt uses
from the connection pool (``WatchedAdapter``) and, at the deadline, shuts that socket down,
which wakes the read blocked on it.

One long-lived thread per watchdog waits for the deadlines, rather than a timer thread per
request: ``Thread.start()`` waits until the new thread runs, and under the GIL that stall hit
every worker of a parallel read on every page. The thread leaves after a while without
requests and the next attempt starts a new one (also after a fork, which keeps no threads).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
import time

try:
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
except ImportError:  # reported by transport.HAS_REQUESTS; this module is then never used
    HTTPAdapter = object
    HTTPConnectionPool = HTTPSConnectionPool = None

# An idle watchdog thread ends after this many seconds; a later attempt starts another.
IDLE_SECONDS = 30.0


class Watchdog(object):
    """``arm(seconds)`` before an attempt, ``disarm()`` after it; ``fired`` says whether the
    deadline ended it."""

    def __init__(self):
        self._cond = threading.Condition()
        self._deadline = None
        self._waiting_until = None  # the deadline the thread sleeps towards, None when idle
        self._thread = None
        self._closing = False
        self.connection = None
        self.fired = False

    def arm(self, seconds):
        with self._cond:
            self.connection, self.fired = None, False
            self._deadline = time.monotonic() + seconds
            self._closing = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="audit-api-deadline")
                self._thread.daemon = True
                self._thread.start()
            elif self._waiting_until is None or self._deadline < self._waiting_until:
                self._cond.notify()  # asleep without a deadline, or towards a later one

    def disarm(self):
        with self._cond:
            self._deadline = None

    def close(self):
        """End the thread now (the transport is closed): no thread outlives its client, so a
        process that forks later forks no stray thread."""
        with self._cond:
            self._deadline = None
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)

    def attach(self, connection):
        self.connection = connection

    def _watch(self):
        with self._cond:
            while True:
                if self._deadline is None:
                    self._waiting_until = None
                    if not self._closing:
                        self._cond.wait(IDLE_SECONDS)
                    if self._deadline is None:  # closed, or idle for IDLE_SECONDS
                        self._thread = None
                        return
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._waiting_until = self._deadline
                    self._cond.wait(remaining)
                    continue
                self._deadline = None
                self._fire()

    def _fire(self):
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass


def _watched_pool(base, watchdog):
    class _WatchedPool(base):
        def _get_conn(self, timeout=None):
            connection = base._get_conn(self, timeout)  # pylint: disable=protected-access
            watchdog.attach(connection)
            return connection
    return _WatchedPool


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools hand every connection they lend to the watchdog."""

    def __init__(self, watchdog):
        self._pools = {"http": _watched_pool(HTTPConnectionPool, watchdog),
                       "https": _watched_pool(HTTPSConnectionPool, watchdog)}
        super(WatchedAdapter, self).__init__()

    def init_poolmanager(self, *args, **kwargs):
        super(WatchedAdapter, self).init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super(WatchedAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pools
        return manager
