# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lazy selections across chunk boundaries, and data sets too small to have any."""

import functools
import random

import numpy as np
import pytest

from audit_emulator import Dataset
from audit_emulator.select import CHUNK, Chain, Seq, lookup

from emulator_testlib import NOW


@functools.lru_cache(maxsize=None)
def _data():
    rnd = random.Random(5)
    size = 3 * CHUNK + 123
    keep = np.array([rnd.random() < 0.3 for dummy in range(size)])
    perm = np.array(rnd.sample(range(10 * size), size), dtype=np.int32)
    return size, keep, perm


def _cases():
    size, keep, perm = _data()
    return random.Random(size), size, keep, perm


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", ["range", "array"])
@pytest.mark.parametrize("masked", [False, True])
def test_seq_slices_match_the_materialised_list(reverse, kind, masked):
    rnd, size, keep, perm = _cases()
    idx = range(1000, 1000 + size) if kind == "range" else perm
    seq = Seq(idx, keep if masked else None, reverse=reverse)
    full = [idx[i] for i in (np.flatnonzero(keep).tolist() if masked else range(size))]
    if reverse:
        full = full[::-1]
    assert len(seq) == len(full)
    bounds = [(0, 10), (0, len(full)), (len(full) - 5, len(full) + 50), (CHUNK - 3, CHUNK + 3)]
    bounds += [tuple(sorted(rnd.sample(range(len(full) + 1), 2))) for dummy in range(25)]
    for a, b in bounds:
        assert seq[a:b].tolist() == full[a:b], (a, b)
    assert list(seq) == full


def test_chain_joins_parts_in_order():
    rnd, size, keep, dummy = _cases()
    parts = [Seq(range(0, size), keep), Seq(range(size, size + 7)), Seq(range(0, 0)),
             Seq(range(5, 5 + size), keep, reverse=True)]
    chain = Chain(parts)
    full = [i for p in parts for i in p]
    assert len(chain) == len(full)
    for a, b in [(0, 1), (len(full) - 9, len(full))] + [
            tuple(sorted(rnd.sample(range(len(full) + 1), 2))) for dummy in range(25)]:
        assert chain[a:b].tolist() == full[a:b]


def test_lookup_by_runs_or_gather():
    values = np.array([0, 1, 2, 3, 4, 5, 6, 7, 2, 5], dtype=np.uint8)
    for accepted in ([], [2], [2, 3, 4], [1, 5], [0, 2, 4, 6], list(range(8))):
        table = np.array([k in accepted for k in range(8)])
        got = lookup(values, table)
        expected = table[values]
        if len(accepted) == 8:
            assert got is None
        else:
            assert got.tolist() == expected.tolist(), accepted


@pytest.mark.parametrize("size", [0, 1, 2, 7])
def test_tiny_data_sets(size):
    ds = Dataset(seed=3, entries=size, now=NOW)
    ds.warm()
    for sort in (None, "created_at:asc", "status_code:desc", "created_at:asc,status_code:asc"):
        assert len(ds.select({}, sort)) == size
        assert ds.select({"status_code_min": 600}, sort) == []
    assert len(list(ds.iter_all())) == size
