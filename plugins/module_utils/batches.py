# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entries handed over in batches: a list, or a block packed by marshal.

A scan can be iterated entry by entry or batch by batch (``IteratedOnce.batches``). A batch
is a list of entries, or a ``Packed`` block: the marshal bytes a slice spilled to disk, read
back as they are. A consumer in another process (the export's writer) takes a packed block's
bytes without this process decoding them, and packs a list once; a consumer here unpacks.
marshal, not pickle: the bytes only travel between this interpreter and its own forked child,
and hold only what ``json.loads`` made. Plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import marshal

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import BadResponseError

# Entries per batch where a scan has no natural block: a page.
BATCH_ENTRIES = 100


class Packed(object):
    """``count`` entries as one marshal record (``data``)."""

    __slots__ = ("data", "count")

    def __init__(self, data, count):
        self.data, self.count = data, count


def pack(entries):
    """A list of entries as marshal bytes; BadResponseError when one is nested deeper than
    marshal goes (deeper than the canonical writer would go either)."""
    try:
        return marshal.dumps(entries)
    except ValueError:
        raise BadResponseError("the API answered with an entry nested too deeply to store")


def unpack(data):
    return marshal.loads(data)


def entries_of(batch):
    """The entries of a batch, as a list."""
    return unpack(batch.data) if isinstance(batch, Packed) else batch


def packed_bytes(batch):
    """The marshal bytes of a batch: a packed block's own, or a list packed now."""
    return batch.data if isinstance(batch, Packed) else pack(batch)


def batch_size(batch):
    return batch.count if isinstance(batch, Packed) else len(batch)


def batched(entries, size=BATCH_ENTRIES):
    """Lists of up to ``size`` entries, in order."""
    chunk = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def flattened(batches):
    """The entries of ``batches``, one by one, in order."""
    for batch in batches:
        yield from entries_of(batch)
