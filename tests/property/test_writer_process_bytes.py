# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export writer gives the same bytes whether it runs in this process or in a forked child
(writer_process.py), as a property: random entries (any JSON values, text with formula starts,
carriage returns and non-ASCII, colliding times, duplicates and contradictions, any arrival
order), both orders, every format, small sort runs so the external sort and its merge rounds
run too, and the entries handed over one by one, in lists, or in packed blocks (batches.py),
mixed in any way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import tempfile

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import Packed, pack
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import writer

pytestmark = pytest.mark.skipif(not writer.CAN_FORK, reason="the writer forks on Linux only")

_TEXT = st.text(alphabet=st.sampled_from(list("ab=+-@\t\r\n\"',é€\U0001f600\\")), max_size=6)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                    st.floats(allow_nan=False, allow_infinity=False), _TEXT)
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6)
_TIME = st.one_of(
    st.builds("2026-11-01T10:00:{:02d}Z".format, st.integers(0, 5)),
    st.builds("2026-11-01T10:00:0{}.5+01:00".format, st.integers(0, 5)),
    st.just("not a time"), st.none())


@st.composite
def _entries(draw):
    base = draw(st.lists(st.fixed_dictionaries(
        {"id": st.one_of(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 3)),
         "created_at": _TIME},
        optional={"action": _TEXT, "status_code": _SCALAR, "actor": _VALUE,
                  "target": st.one_of(st.none(), st.dictionaries(_TEXT, _VALUE, max_size=2)),
                  "extra_field": _VALUE}), max_size=25))
    # Duplicates, exact or contradicting, anywhere in the stream.
    again = draw(st.lists(st.sampled_from(base), max_size=5)) if base else []
    return draw(st.permutations(base + again))


def _hand_over(bundle, entries, cuts):
    """``entries`` split at ``cuts``; each piece given as single entries, a list or a packed
    block, by the piece's first cut."""
    bounds = [0] + sorted(set(c % (len(entries) + 1) for c in cuts)) + [len(entries)]
    for start, end in zip(bounds, bounds[1:]):
        piece = entries[start:end]
        how = (start + len(cuts)) % 3
        if how == 0:
            for entry in piece:
                bundle.add(entry)
        elif how == 1:
            bundle.add_batch(list(piece))
        elif piece:
            bundle.add_batch(Packed(pack(list(piece)), len(piece)))


def _write(entries, order, formats, run_size, separate_process, cuts):
    work = tempfile.mkdtemp(prefix="writer-process-")
    try:
        bundle = writer.BundleWriter(work, order=order, formats=formats, run_size=run_size,
                                     separate_process=separate_process)
        in_child = bundle.in_child
        try:
            _hand_over(bundle, entries, cuts)
            parts = bundle.finish()
            files = {}
            for name, part in parts.items():
                with open(part.path, "rb") as handle:
                    data = handle.read()
                assert hashlib.sha256(data).hexdigest() == part.sha256
                assert len(data) == part.size
                files[name] = (data, part.lines)
            counters = tuple(getattr(bundle, name) for name in (
                "received", "written", "duplicates", "conflicts", "client_sorted"))
        finally:
            bundle.abort()
        assert os.listdir(work) == []  # abort leaves nothing, whichever process wrote
        return files, counters, in_child
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=25)
@given(entries=_entries(), order=st.sampled_from(["newest_first", "oldest_first"]),
       formats=st.sampled_from(["jsonl", "csv", "both"]), run_size=st.integers(2, 6),
       cuts=st.lists(st.integers(0, 40), max_size=6))
def test_the_child_writes_the_bytes_of_the_writer_in_this_process(
        entries, order, formats, run_size, cuts):
    here = _write(entries, order, formats, run_size, False, [])
    child = _write(entries, order, formats, run_size, True, cuts)
    assert child[:2] == here[:2]
    assert child[2] and not here[2]
