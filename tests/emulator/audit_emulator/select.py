# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a ``Query`` over a ``Dataset``: which entries, in which order.

Time bounds are a binary search (entries are stored newest first); every other filter is one
vectorised comparison, most of them through a small per-table mask (per operation, actor or
path) gathered with ``np.take`` by the entry's index into that table (``take`` is several
times faster than fancy indexing with a small-integer index). Results are cached by the
query's key, so the pages after the first cost only a slice.

A selection is lazy: a sequence of indexes (a range, or a view of a prebuilt index array) and a
boolean ``keep`` mask over it, with per-chunk counts of the mask. ``len`` is the filtered
count (``total_count``); a page materialises only the chunk(s) it falls in. Sorting never
sorts the selection: a status-first order chains per-status index lists (each already in
default order), and a created_at-first order with status second reads through one whole-data
permutation per direction pair, built once.

Order: the sort terms in precedence, then ``id`` in the direction of the ``created_at`` term
(descending when there is none), so ``created_at:asc`` is exactly the default order reversed.
"""

import collections
import threading

import numpy as np

CHUNK = 1 << 15
_EMPTY = np.zeros(0, dtype=np.int64)


class Seq(object):
    """Indexes ``idx`` (range or int array) where ``keep`` is true (all if None), maybe reversed."""

    def __init__(self, idx, keep=None, reverse=False):
        self.idx = idx
        self.keep = keep
        self.reverse = reverse
        if keep is None:
            self._cum = None
            self.n = len(idx)
        else:
            # Per-chunk counts: count_nonzero is a popcount, far cheaper than add.reduceat.
            counts = [np.count_nonzero(keep[i:i + CHUNK]) for i in range(0, len(keep), CHUNK)]
            self._cum = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
            self.n = int(self._cum[-1])

    def __len__(self):
        return self.n

    def take(self, a, b):
        """Indexes at positions [a, b) of this sequence, as an int64 array."""
        a, b = max(0, a), min(self.n, b)
        if a >= b:
            return _EMPTY
        lo, hi = (self.n - b, self.n - a) if self.reverse else (a, b)
        if self.keep is None:
            pos = np.arange(lo, hi)
        else:
            cum = self._cum
            first = int(np.searchsorted(cum, lo, side="right")) - 1
            last = int(np.searchsorted(cum, hi, side="left"))
            base = first * CHUNK
            hits = np.flatnonzero(self.keep[base:last * CHUNK])
            pos = hits[lo - cum[first]:hi - cum[first]] + base
        if isinstance(self.idx, range):
            out = pos * self.idx.step + self.idx.start
        else:
            out = np.take(self.idx, pos).astype(np.int64)
        return out[::-1] if self.reverse else out

    def __getitem__(self, item):
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("only contiguous slices")
        a, b, dummy = item.indices(self.n)
        return self.take(a, b)

    def __iter__(self):
        for a in range(0, self.n, CHUNK):
            yield from self.take(a, a + CHUNK).tolist()


class Chain(Seq):
    """Several ``Seq`` one after the other."""

    def __init__(self, parts):  # pylint: disable=super-init-not-called
        self.parts = [p for p in parts if len(p)]
        self.n = sum(len(p) for p in self.parts)

    def take(self, a, b):
        out, offset = [], 0
        for part in self.parts:
            size = len(part)
            if offset + size > a and offset < b:
                out.append(part.take(a - offset, b - offset))
            offset += size
            if offset >= b:
                break
        return np.concatenate(out) if out else _EMPTY


def lookup(values, table):
    """``table[values]`` for a small boolean ``table``, or None when every value passes.

    One or two runs of accepted codes are compared directly (a comparison is ~10 times cheaper
    than a gather); more runs fall back to ``np.take``.
    """
    codes = np.flatnonzero(table)
    if len(codes) == len(table):
        return None
    if not len(codes):
        return np.zeros(len(values), dtype=bool)
    breaks = np.flatnonzero(np.diff(codes) != 1)
    if len(breaks) >= 2:
        return np.take(table, values)
    firsts = np.concatenate(([codes[0]], codes[breaks + 1]))
    lasts = np.concatenate((codes[breaks], [codes[-1]]))
    out = None
    for first, last in zip(firsts.tolist(), lasts.tolist()):
        m = values == first if first == last else (values >= first) & (values <= last)
        out = m if out is None else out | m
    return out


class Selector(object):
    """Indexes of the entries a query selects, cached per query key."""

    CACHE_SIZE = 8

    def __init__(self, dataset):
        self.ds = dataset
        self._cache = collections.OrderedDict()
        self._lock = threading.Lock()
        self._by_status = None   # status code -> indexes, built on first use
        self._perms = {}         # (created dir, status dir) -> whole-data permutation

    def indices(self, query):
        with self._lock:
            hit = self._cache.get(query.key)
            if hit is not None:
                self._cache.move_to_end(query.key)
                return hit
        start, end, mask = self._filter(query.filters)
        result = self._order(start, end, mask, query.sort)
        with self._lock:
            self._cache[query.key] = result
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    # ------------------------------------------------------------ filtering

    def _time_range(self, lo_ts, hi_ts):
        """[start, end) of the entries with lo_ts <= created_at <= hi_ts (None = open)."""
        neg = self.ds.neg_ts
        start = 0 if hi_ts is None else int(np.searchsorted(neg, -hi_ts, side="left"))
        end = len(neg) if lo_ts is None else int(np.searchsorted(neg, -lo_ts, side="right"))
        return start, max(start, end)

    def _filter(self, f):
        ds = self.ds
        start, end = self._time_range(f.get("created_at_min"), f.get("created_at_max"))
        masks = []
        window = slice(start, end)

        # Per-operation conditions (action, method, target type) fold into one table.
        op_ok = None
        if "action" in f:
            op_ok = np.array([op.action == f["action"] for op in ds.operations])
        if "method" in f:
            m = np.array([op.method == f["method"] for op in ds.operations])
            op_ok = m if op_ok is None else op_ok & m
        if "target_type" in f:
            m = np.array([t == f["target_type"] for t in ds.op_ttype])
            op_ok = m if op_ok is None else op_ok & m
        if "target_type" in f or "target_id" in f:
            masks.append(ds.target_state[window] == 2)
        if "target_id" in f:
            refs = ds.target_refs(f["target_id"])
            m = np.zeros(end - start, dtype=bool)
            for ttype, k in refs:
                on_type = lookup(ds.op[window], np.array([t == ttype for t in ds.op_ttype]))
                m |= (ds.res[window] == k) if on_type is None else on_type & (ds.res[window] == k)
            masks.append(m)
        if op_ok is not None:
            masks.append(lookup(ds.op[window], op_ok))

        actor_ok = None
        if "actor_id" in f:
            actor_ok = np.array([a["id"] == f["actor_id"] for a in ds.actors])
        if "actor_type" in f:
            m = np.array([a["type"] == f["actor_type"] for a in ds.actors])
            actor_ok = m if actor_ok is None else actor_ok & m
        if actor_ok is not None:
            masks.append(lookup(ds.actor[window], actor_ok))

        if "path" in f:
            needle = f["path"]
            path_ok = np.array([needle in p for p in ds.path_table_lower])
            masks.append(lookup(ds.path_idx[window], path_ok))
        if "client_ip" in f:
            hits = [k for k, ip in enumerate(ds.ip_table) if ip == f["client_ip"]]
            m = np.zeros(end - start, dtype=bool)
            for k in hits:  # usually one; a rare address may repeat a pooled one
                m |= ds.ip[window] == k
            masks.append(m)
        if "status_code_min" in f:
            masks.append(ds.status[window] >= f["status_code_min"])
        if "status_code_max" in f:
            masks.append(ds.status[window] <= f["status_code_max"])

        masks = [m for m in masks if m is not None]
        if not masks:
            return start, end, None
        mask = masks[0]
        for m in masks[1:]:
            mask &= m
        return start, end, mask

    # -------------------------------------------------------------- ordering

    def _order(self, start, end, mask, terms):
        """A lazy selection of the window [start, end) and mask over it, in the order asked."""
        fields = dict(terms)
        created = fields.get("created_at", "desc")
        if "status_code" not in fields:
            return Seq(range(start, end), mask, reverse=created == "asc")
        if terms[0][0] == "status_code":
            return self._status_first(start, end, mask, fields["status_code"], created)
        # created_at first, status_code second: a permutation of the whole data set that only
        # reorders entries of the same second; a time window is a slice of it, since the
        # window's bounds fall between seconds.
        perm = self._created_then_status(created, fields["status_code"])
        lo, hi = (start, end) if created == "desc" else (self.ds.size - end, self.ds.size - start)
        sub = perm[lo:hi]
        return Seq(sub, None if mask is None else np.take(mask, sub - start))

    def _postings(self):
        """Per status code, ascending: the indexes of its entries, in the default order."""
        with self._lock:
            if self._by_status is None:
                status = self.ds.status
                self._by_status = [np.flatnonzero(status == c).astype(np.int32)
                                   for c in np.unique(status)]
            return self._by_status

    def _status_first(self, start, end, mask, status_dir, created):
        postings = self._postings()
        full = None
        if mask is not None:
            full = np.zeros(self.ds.size, dtype=bool)
            full[start:end] = mask
        parts = []
        for post in (postings if status_dir == "asc" else postings[::-1]):
            lo, hi = np.searchsorted(post, [start, end])
            part = post[lo:hi]
            parts.append(Seq(part, None if full is None else np.take(full, part),
                             reverse=created == "asc"))
        return Chain(parts)

    def _created_then_status(self, created, status_dir):
        key = (created, status_dir)
        with self._lock:
            perm = self._perms.get(key)
        if perm is not None:
            return perm
        ds = self.ds
        # Views, no copies: reversed arrays for created_at ascending.
        neg = ds.neg_ts if created == "desc" else ds.neg_ts[::-1]
        status = ds.status if created == "desc" else ds.status[::-1]
        wide = np.int64 if ds.size * 1024 >= 2 ** 31 else np.int32
        skey = np.zeros(ds.size, dtype=wide)
        if ds.size > 1:
            np.cumsum(neg[1:] != neg[:-1], out=skey[1:])
        # key = second number * 1024 + status key: the second number rises along the order,
        # so the key is nearly sorted and timsort is quick; being stable, it keeps the id
        # order among equal statuses.
        skey *= 1024
        skey += status if status_dir == "asc" else 1000 - status
        order = np.argsort(skey, kind="stable")
        del skey
        perm = order.astype(np.int32) if created == "desc" else (ds.size - 1 - order).astype(np.int32)
        del order
        perm.flags.writeable = False
        with self._lock:
            self._perms[key] = perm
        return perm

    def warm(self):
        """Build the status lists and the four created-then-status permutations now."""
        self._postings()
        for created in ("desc", "asc"):
            for status_dir in ("desc", "asc"):
                self._created_then_status(created, status_dir)
