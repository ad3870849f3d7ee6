# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a ``Query`` over a ``Dataset``: which entries, in which order.

Time bounds are a binary search (entries are stored newest first); every other filter is one
vectorised comparison, most of them through a small per-table mask (per operation, actor,
path or address) gathered by the entry's index into that table. Results are cached by the
query's key, so the pages after the first cost only a slice.

Order: the sort terms in precedence, then ``id`` in the direction of the ``created_at`` term
(descending when there is none), so ``created_at:asc`` is exactly the default order reversed.
"""

import collections
import threading

import numpy as np


class Selector(object):
    """Indexes of the entries a query selects, cached per query key."""

    CACHE_SIZE = 8

    def __init__(self, dataset):
        self.ds = dataset
        self._cache = collections.OrderedDict()
        self._lock = threading.Lock()

    def indices(self, query):
        with self._lock:
            hit = self._cache.get(query.key)
            if hit is not None:
                self._cache.move_to_end(query.key)
                return hit
        result = self._order(self._filter(query.filters), query.sort)
        if not isinstance(result, range):
            result.flags.writeable = False
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
                m |= (np.array([t == ttype for t in ds.op_ttype])[ds.op[window]]
                      & (ds.res[window] == k))
            masks.append(m)
        if op_ok is not None:
            masks.append(op_ok[ds.op[window]])

        actor_ok = None
        if "actor_id" in f:
            actor_ok = np.array([a["id"] == f["actor_id"] for a in ds.actors])
        if "actor_type" in f:
            m = np.array([a["type"] == f["actor_type"] for a in ds.actors])
            actor_ok = m if actor_ok is None else actor_ok & m
        if actor_ok is not None:
            masks.append(actor_ok[ds.actor[window]])

        if "path" in f:
            needle = f["path"]
            path_ok = np.array([needle in p.lower() for p in ds.path_table])
            masks.append(path_ok[ds.path_idx[window]])
        if "client_ip" in f:
            hits = [k for k, ip in enumerate(ds.ip_table) if ip == f["client_ip"]]
            masks.append(np.isin(ds.ip[window], np.array(hits, dtype=np.int32)))
        if "status_code_min" in f:
            masks.append(ds.status[window] >= f["status_code_min"])
        if "status_code_max" in f:
            masks.append(ds.status[window] <= f["status_code_max"])

        if not masks:
            return range(start, end)
        mask = masks[0]
        for m in masks[1:]:
            mask &= m
        return (np.flatnonzero(mask) + start).astype(np.int32)

    # -------------------------------------------------------------- ordering

    def _order(self, sel, terms):
        if not terms:
            return sel
        created = dict(terms).get("created_at", "desc")
        if created == "asc":
            sel = sel[::-1]
        if "status_code" not in dict(terms):
            return sel
        base = np.arange(sel.start, sel.stop, sel.step, dtype=np.int32) if isinstance(sel, range) else sel
        status = self.ds.status[base]
        key = status.astype(np.uint16) if dict(terms)["status_code"] == "asc" \
            else (1000 - status).astype(np.uint16)
        if terms[0][0] == "status_code":
            # Stable: inside one status the created_at/id order of ``base`` holds.
            return base[np.argsort(key, kind="stable")]
        # created_at first: status only orders entries of the same second.
        ts = self.ds.neg_ts[base]
        group = np.zeros(len(base), dtype=np.int64)
        if len(base) > 1:
            np.cumsum(ts[1:] != ts[:-1], out=group[1:])
        return base[np.argsort(group * 1024 + key, kind="stable")]
