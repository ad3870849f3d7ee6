# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Iterables that can be iterated once: a scan reads the log as it goes, so a second pass
would read it again (and its report would describe neither pass)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class IteratedOnce(object):
    """Mix-in: ``iter()`` gives ``self._entries()`` the first time and raises RuntimeError
    after that."""

    _iterated = False

    def __iter__(self):
        if self._iterated:
            raise RuntimeError("a Scan can be iterated once")
        self._iterated = True
        return self._entries()

    def _entries(self):
        raise NotImplementedError
