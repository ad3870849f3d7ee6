# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Iterables that can be iterated once: a scan reads the log as it goes, so a second pass
would read it again (and its report would describe neither pass). Once entry by entry, or once
batch by batch (batches.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import batched


class IteratedOnce(object):
    """Mix-in: ``iter()`` gives ``self._entries()``, or ``batches()`` gives
    ``self._batches()``, the first time; either raises RuntimeError after that."""

    _iterated = False

    def _claim(self):
        if self._iterated:
            raise RuntimeError("a Scan can be iterated once")
        self._iterated = True

    def __iter__(self):
        self._claim()
        return self._entries()

    def batches(self):
        """The same entries in the same order, as batches (lists, or ``batches.Packed``
        blocks that a consumer in another process takes undecoded)."""
        self._claim()
        return self._batches()

    def _entries(self):
        raise NotImplementedError

    def _batches(self):
        return batched(self._entries())
