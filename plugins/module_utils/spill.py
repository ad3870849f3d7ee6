# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A slice's entries until the reader reaches it, spilled to disk for a streaming reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import Packed, pack

# A slice buffered for a streaming reader spills to disk in blocks of this many entries (a
# page): about a page a slice waits in memory, whatever the size of the window.
SPILL_ENTRIES = 100
_BLOCK_HEAD = struct.Struct(">QQ")  # bytes, entries


class SliceBuffer(object):
    """A slice's entries until the reader reaches it: in memory, or for a streaming reader
    spilled to a temporary file in blocks of SPILL_ENTRIES, so memory stays bounded.

    A block is one marshal record behind its length and its count of entries: the file is
    this process's own anonymous scratch, read back by the same interpreter (or its forked
    child), and holds only what ``json.loads`` made
    (dicts, lists, strings, numbers, booleans, None). Whole blocks, because marshal reading
    entry by entry from a file costs more than the JSON it replaces. The worker writes and the
    reader reads only once the slice is done, never both at once. ``batches()`` hands the
    blocks back undecoded (``batches.Packed``): the export's writer process decodes them."""

    def __init__(self, spill):
        self._spill = spill
        self._memory = []
        self._file = None

    def add(self, entry):
        self._memory.append(entry)
        if self._spill and len(self._memory) >= SPILL_ENTRIES:
            self._write_block()

    def _write_block(self):
        block = pack(self._memory)
        if self._file is None:
            self._file = tempfile.TemporaryFile()
        self._file.write(_BLOCK_HEAD.pack(len(block), len(self._memory)))
        self._file.write(block)
        self._memory = []

    def batches(self):
        """The spilled blocks (``Packed``), then the entries still in memory (a list)."""
        if self._file is not None:
            self._file.seek(0)
            head = self._file.read(_BLOCK_HEAD.size)
            while head:
                size, count = _BLOCK_HEAD.unpack(head)
                yield Packed(self._file.read(size), count)
                head = self._file.read(_BLOCK_HEAD.size)
        if self._memory:
            yield self._memory

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = []
