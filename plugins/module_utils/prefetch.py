# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prefetch: run a scan in a background thread, a bounded number of pages ahead.

A streaming reader that does work per entry (the export writes, hashes and counts) would
otherwise leave the connection idle while it works, and the CPU idle while the next page is in
flight. Here the next pages are requested while the reader works on the current ones; at most
``depth`` chunks wait in between, so memory stays bounded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

try:
    import queue
except ImportError:  # pragma: no cover - Python 2 is not supported
    import Queue as queue  # pylint: disable=import-error

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import (
    BATCH_ENTRIES,
    batched,
    flattened,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.once import IteratedOnce

DEFAULT_DEPTH = 4
CHUNK = BATCH_ENTRIES  # a page
_DONE = object()


class Prefetched(IteratedOnce):
    """An iterable over ``scan`` (a Scan or ParallelScan) fed by a thread; ``report`` is the
    scan's, complete once iteration has ended. An error in the thread is raised here."""

    def __init__(self, scan, depth=DEFAULT_DEPTH):
        self._scan = scan
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()

    @property
    def report(self):
        return self._scan.report

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _feed(self):
        try:
            stream = iter(self._scan)
            for chunk in batched(stream, CHUNK):
                if not self._put(chunk):
                    stream.close()  # the reader left: end the scan (and its workers)
                    return
            self._put(_DONE)
        except Exception as err:  # pylint: disable=broad-except
            self._put(err)  # raised in the reader's thread

    def _entries(self):
        return flattened(self._batches())

    def _batches(self):
        """The chunks as the thread queued them (lists of up to CHUNK entries)."""
        thread = threading.Thread(target=self._feed, name="prefetch")
        thread.daemon = True
        thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._stop.set()
            thread.join()
