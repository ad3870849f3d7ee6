# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export writer gives the same bytes whether it stays in this process or carries on in a
forked child (writer_process.py), as a property: random entries (any JSON values, text with
formula starts, carriage returns and non-ASCII, colliding times, duplicates and
contradictions, any arrival order), both orders, every format, small sort runs so the external
sort and its merge rounds run too, and the move to the child at any point of the stream."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import tempfile

import pytest
from hypothesis import given, settings, strategies as st

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


def _write(entries, order, formats, run_size, process_after):
    work = tempfile.mkdtemp(prefix="writer-process-")
    try:
        bundle = writer.BundleWriter(work, order=order, formats=formats, run_size=run_size,
                                     process_after=process_after)
        moved = False
        try:
            for entry in entries:
                bundle.add(entry)
                moved = moved or bundle.in_child
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
        return files, counters, moved
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=25)
@given(entries=_entries(), order=st.sampled_from(["newest_first", "oldest_first"]),
       formats=st.sampled_from(["jsonl", "csv", "both"]), run_size=st.integers(2, 6),
       process_after=st.integers(1, 30))
def test_the_child_writes_the_bytes_of_the_writer_in_this_process(
        entries, order, formats, run_size, process_after):
    here = _write(entries, order, formats, run_size, 10 ** 9)
    child = _write(entries, order, formats, run_size, process_after)
    assert child[:2] == here[:2]
    assert child[2] == (len(entries) >= process_after)  # it did move when it should
    assert not here[2]
