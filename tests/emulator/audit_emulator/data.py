# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seeded data set: compact per-field arrays, entries rendered on demand.

Nothing is stored per entry but small integers (timestamp, id halves and indexes into the
tables of actors, operations, resources, addresses and user agents), so a million entries
take about 50 MB. Entry ``i`` is the i-th of the default order: ``created_at`` descending,
then ``id`` descending.

Randomness comes only from PCG64 raw 64-bit words (``random_raw``), whose stream numpy keeps
stable across releases, turned into choices with plain arithmetic: the same seed gives the
same data on every machine and numpy version.
"""

import calendar
import datetime
import ipaddress
import re
import time

import numpy as np

from . import catalog
from . import overrides as overrides_mod

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_U53 = 2.0 ** -53

# One independent stream per purpose, so changing how one field is drawn moves no other.
_STREAMS = ("gap", "tie", "id_hi", "id_lo", "actor", "op", "res", "status", "target",
            "ua", "ip_rare", "ip_slot", "ip_new", "tables")


class Operation(object):
    """One audited endpoint: what an entry's method, path, action and target come from."""

    __slots__ = ("index", "kind", "method", "action", "ttype", "path_fn", "uses_res",
                 "target_mode", "weight")

    def __init__(self, kind, method, action, ttype, path_fn, uses_res, target_mode, weight):
        self.index = -1
        self.kind = kind            # key of catalog.STATUS
        self.method = method
        self.action = action
        self.ttype = ttype          # target type this operation acts on (resource pool)
        self.path_fn = path_fn      # resource (or None) -> concrete path
        self.uses_res = uses_res    # does the path carry a resource id?
        self.target_mode = target_mode  # "item", "create" or "none"
        self.weight = weight


def parse_now(now):
    """``now`` as whole epoch seconds: None (the current time), a datetime or RFC 3339 text."""
    if now is None:
        return int(time.time())
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return int(now)
    if isinstance(now, datetime.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return calendar.timegm(now.utctimetuple())
    from .query import parse_rfc3339  # pylint: disable=import-outside-toplevel
    micros = parse_rfc3339(str(now))
    if micros is None:
        raise ValueError("now is not an RFC 3339 date-time: %r" % (now,))
    return micros // 1000000


_DAYS = {}


def release_memory():
    """Give freed heap memory back to the system (glibc), so RSS shows what is kept.

    Building a large data set frees many temporary arrays; glibc keeps such memory for reuse
    and RSS stays high for nothing. Elsewhere this is a no-op.
    """
    try:
        import ctypes  # pylint: disable=import-outside-toplevel
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def format_ts(seconds):
    """RFC 3339 UTC text of whole epoch seconds (dates memoised: a data set spans few days)."""
    day, rest = divmod(seconds, 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    return "%s%02d:%02d:%02dZ" % (date, rest // 3600, rest // 60 % 60, rest % 60)


def _format_uuid(hi, lo):
    s = "%016x%016x" % (hi, lo)
    return "%s-%s-%s-%s-%s" % (s[:8], s[8:12], s[12:16], s[16:20], s[20:])


def _item_path(base, pool, suffix):
    """Path of an item operation: its collection, the item's id, an optional action."""
    if suffix:
        return lambda k: "%s/%s/%s" % (base(k), pool[k], suffix)
    return lambda k: "%s/%s" % (base(k), pool[k])


class _Rng(object):
    """Raw PCG64 words per named stream, and choices made from them with exact arithmetic."""

    def __init__(self, seed):
        self.seed = seed

    def raw(self, stream, n):
        seq = np.random.SeedSequence([self.seed, _STREAMS.index(stream)])
        return np.random.PCG64(seq).random_raw(n).astype(np.uint64)

    def uniform(self, stream, n):
        """Floats in [0, 1): the top 53 bits of each word, scaled exactly."""
        return (self.raw(stream, n) >> np.uint64(11)).astype(np.float64) * _U53

    @staticmethod
    def pick(u, weights):
        """Index into ``weights`` for each uniform in ``u``."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        cum /= cum[-1]
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


class Dataset(object):
    """``entries`` audit-log entries for ``seed``, ending at ``now`` (newest first).

    ``entry(i)``, ``get(id)``, ``select(filters, sort)``, ``iter_all()`` and ``count()`` are
    the ground truth the emulator serves; ``select`` returns what the 2026-08 API lists.
    """

    def __init__(self, seed=0, entries=10000, now=None, overrides=None):
        if int(seed) < 0:
            raise ValueError("seed must be >= 0")
        if int(entries) < 0:
            raise ValueError("entries must be >= 0")
        self.seed = int(seed)
        self.size = int(entries)
        self.now = parse_now(now)
        # {index: fields} served instead of the generated values (see overrides.py).
        self.overrides = dict(overrides or {})
        self._rng = _Rng(self.seed)
        self._build_tables()
        self._build_entries()
        release_memory()
        # Late import: select imports this module's helpers.
        from .select import Selector  # pylint: disable=import-outside-toplevel
        self._selector = Selector(self)

    # ----------------------------------------------------------------- tables

    def _uuids(self, words):
        """UUID version 4 strings from pairs of raw words."""
        out = []
        for k in range(0, len(words) - 1, 2):
            hi, lo = self._fix_uuid(int(words[k]), int(words[k + 1]))
            out.append(_format_uuid(hi, lo))
        return out

    @staticmethod
    def _fix_uuid(hi, lo):
        return (hi & ~0xF000) | 0x4000, (lo & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000

    def _build_tables(self):
        words = iter(self._rng.raw("tables", 4096).tolist())

        def u():
            return (next(words) >> 11) * _U53

        def uuid():
            hi, lo = self._fix_uuid(next(words), next(words))
            return _format_uuid(hi, lo)

        # Actors: users then API keys; activity skewed, automation busier than people.
        actors = []
        for name in catalog.USERS:
            actors.append({"id": uuid(), "name": name, "type": "user"})
        for name in catalog.API_KEYS:
            actors.append({"id": uuid(), "name": name, "type": "api_key"})
        self.actors = actors
        weights = []
        for k, actor in enumerate(actors):
            base = 45.0 if actor["type"] == "user" else 55.0
            rank = k if actor["type"] == "user" else k - len(catalog.USERS)
            weights.append(base / (rank + 1.5) ** 0.9)
        self._actor_weights = weights
        self.actor_is_key = np.array([a["type"] == "api_key" for a in actors])

        # User agents: three per actor; people use browsers and the CLI, keys use tools.
        self.user_agents = list(catalog.BROWSERS) + list(catalog.TOOLS)
        nb = len(catalog.BROWSERS)
        actor_ua = []
        for actor in actors:
            if actor["type"] == "user":
                slots = [int(u() * nb), nb + int(u() * 2), int(u() * nb)]
            else:
                slots = [nb + 2 + int(u() * (len(catalog.TOOLS) - 2)),
                         nb + int(u() * len(catalog.TOOLS)),
                         nb + int(u() * len(catalog.TOOLS))]
            actor_ua.append(slots)
        self._actor_ua = np.array(actor_ua, dtype=np.uint8)

        # Addresses: one to three per actor, a third of them IPv6.
        ips, actor_ips = [], []
        for dummy in actors:
            own = []
            for dummy in range(1 + int(u() * 3)):
                own.append(len(ips))
                ips.append(self._make_ip(next(words)))
            actor_ips.append(own)
        self._pool_ips = len(ips)
        self._actor_ip_count = np.array([len(x) for x in actor_ips], dtype=np.int64)
        self._actor_ip = np.array([x + [x[0]] * (3 - len(x)) for x in actor_ips], dtype=np.int32)
        self.ip_table = ips

        # Resource pools; API keys that act are resources too (api_key.updated on a real key).
        self.resources = {}
        self.resource_parent = {}
        keys = [a["id"] for a in actors if a["type"] == "api_key"]
        for ttype, dummy, parent, size in catalog.RESOURCES:
            pool = keys[:] if ttype == "api_key" else []
            while len(pool) < size:
                pool.append(uuid())
            self.resources[ttype] = pool
            if parent:
                psize = len(self.resources[parent])
                self.resource_parent[ttype] = [int(u() * psize) for dummy in pool]
        self._target_lookup = {}
        for ttype, pool in self.resources.items():
            for k, rid in enumerate(pool):
                self._target_lookup.setdefault(rid, []).append((ttype, k))

        self.operations = self._operations()
        self.op_ttype = [op.ttype for op in self.operations]
        self.ttypes = [r[0] for r in catalog.RESOURCES]
        self._op_ttype_code = np.array([self.ttypes.index(t) for t in self.op_ttype], dtype=np.int16)
        self._op_pool = np.array([len(self.resources[t]) for t in self.op_ttype], dtype=np.int64)
        self._op_state_none = np.array([op.target_mode == "none" for op in self.operations])
        self._op_state_create = np.array([op.target_mode == "create" for op in self.operations])
        # Paths: one block per operation, one slot per resource when the path names it.
        paths, offsets = [], []
        for op in self.operations:
            offsets.append(len(paths))
            if op.uses_res:
                paths.extend(op.path_fn(k) for k in range(len(self.resources[op.ttype])))
            else:
                paths.append(op.path_fn(None))
        self.path_table = paths
        self.path_table_lower = [p.lower() for p in paths]
        self._op_path_offset = np.array(offsets, dtype=np.int32)
        self._op_uses_res = np.array([op.uses_res for op in self.operations], dtype=np.int32)

    def _make_ip(self, word):
        if word % 3 == 0:
            groups = ["%x" % ((word >> s) & 0xFFFF) for s in (8, 24, 40)]
            addr = "%s%s:%s::%s" % (catalog.IPV6_PREFIX, groups[0], groups[1], groups[2])
            return ipaddress.IPv6Address(addr).compressed
        prefix = catalog.IPV4_PREFIXES[(word >> 8) % len(catalog.IPV4_PREFIXES)]
        return "%s%d" % (prefix, 1 + (word >> 16) % 254)

    def _operations(self):
        ops = []
        parents = dict((r[0], r) for r in catalog.RESOURCES)
        res = self.resources

        def base_fn(ttype):
            dummy, url, parent, dummy = parents[ttype]
            if parent is None:
                return lambda k: url
            purl = parents[parent][1]
            plist = res[parent]
            owner = self.resource_parent[ttype]

            def child_collection(k):
                return "%s/%s/%s" % (purl, plist[owner[k]], url)
            return child_collection

        for ttype, url, parent, dummy in catalog.RESOURCES:
            weight = catalog.RESOURCE_WEIGHT[ttype]
            base = base_fn(ttype)
            nested = parent is not None
            if ttype == "organization":
                # Organizations are not created here; their memberships are managed.
                pool = res[ttype]
                ops.append(Operation("read", "GET", "organization.read", ttype,
                                     lambda k, p=pool: "/v1/organizations/%s" % p[k], True, "item", 1))
                ops.append(Operation("update", "PATCH", "organization.updated", ttype,
                                     lambda k, p=pool: "/v1/organizations/%s" % p[k], True, "item", 0.3))
                ops.append(Operation("list", "GET", "membership.listed", ttype,
                                     lambda k, p=pool: "/v1/organizations/%s/memberships" % p[k],
                                     True, "item", 1.2))
                ops.append(Operation("create", "POST", "membership.created", ttype,
                                     lambda k, p=pool: "/v1/organizations/%s/memberships" % p[k],
                                     True, "item", 0.5))
                continue
            for kind, method, verb, on_item, vweight in catalog.CRUD:
                if on_item:
                    fn = _item_path(base, res[ttype], "")
                    mode = "item"
                else:
                    fn = base
                    mode = "create" if kind == "create" else "none"
                ops.append(Operation(kind, method, "%s.%s" % (ttype, verb), ttype, fn,
                                     on_item or nested, mode, weight * vweight / 100.0))
        for ttype, method, suffix, action, weight in catalog.ITEM_ACTIONS:
            base = base_fn(ttype)
            ops.append(Operation("action", method, action, ttype, _item_path(base, res[ttype], suffix),
                                 True, "item", weight / 10.0))
        # The caller's own security settings: no target at all.
        ops.append(Operation("read", "GET", "user.security_read", "organization",
                             lambda k: "/v1/user/security", False, "none", 0.6))
        ops.append(Operation("update", "PATCH", "user.security_updated", "organization",
                             lambda k: "/v1/user/security", False, "none", 0.15))
        # Codes group operations by method, then resource: a filter on method, target type,
        # action or path then accepts a few runs of codes, compared without a gather.
        # ``_gen_to_code`` keeps the drawing order, so the data does not depend on this.
        self._gen_weights = [op.weight for op in ops]
        rank = dict((t[0], k) for k, t in enumerate(catalog.RESOURCES))
        order = sorted(range(len(ops)), key=lambda k: (ops[k].method, rank[ops[k].ttype], k))
        self._gen_to_code = np.zeros(len(ops), dtype=np.uint8)
        for code, k in enumerate(order):
            self._gen_to_code[k] = code
            ops[k].index = code
        return [ops[k] for k in order]

    # ---------------------------------------------------------------- entries

    def _build_entries(self):
        n = self.size
        rng = self._rng
        # Time: exponential gaps between neighbours with a mean that fills the window;
        # some gaps are zero (bursts), so entries share a second and the id breaks the tie.
        mean = catalog.WINDOW_SECONDS / max(n, 1)
        gaps = np.floor(-np.log1p(-rng.uniform("gap", n)) * mean).astype(np.int64)
        gaps[rng.uniform("tie", n) < catalog.TIE_RATE] = 0
        self.neg_ts = np.cumsum(gaps) - self.now   # ascending: -created_at
        del gaps

        hi = rng.raw("id_hi", n)
        lo = rng.raw("id_lo", n)
        hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
        lo = (lo & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
        # Inside a second, id descending: sort on the complements, time first.
        order = np.lexsort((~lo, ~hi, self.neg_ts))
        self.id_hi = hi[order]
        self.id_lo = lo[order]
        del hi, lo, order
        self._id_sorter = np.argsort(self.id_hi, kind="stable").astype(np.int32)

        self.actor = _Rng.pick(rng.uniform("actor", n), self._actor_weights).astype(np.uint8)
        self.op = self._gen_to_code[_Rng.pick(rng.uniform("op", n), self._gen_weights)]
        self.res = np.floor(rng.uniform("res", n) * self._op_pool[self.op]).astype(np.int16)

        status = np.zeros(n, dtype=np.int16)
        u = rng.uniform("status", n)
        names = list(catalog.STATUS)
        kinds = np.array([names.index(op.kind) for op in self.operations], dtype=np.int8)[self.op]
        for code, table in enumerate(catalog.STATUS.values()):
            sel = kinds == code
            codes = np.array([c for c, dummy in table], dtype=np.int16)
            status[sel] = codes[_Rng.pick(u[sel], [w for dummy, w in table])]
        del kinds, u
        self.status = status

        # Target: 2 = object, 1 = null, 0 = absent. Lists have none (absent or null at
        # random); a failed create names nothing, so null.
        state = np.full(n, 2, dtype=np.int8)
        none = self._op_state_none[self.op]
        coin = rng.raw("target", n) & np.uint64(1)
        state[none] = coin[none].astype(np.int8)
        state[self._op_state_create[self.op] & (status >= 400)] = 1
        self.target_state = state
        self.path_idx = (self._op_path_offset[self.op]
                         + self.res.astype(np.int32) * self._op_uses_res[self.op])

        slot = _Rng.pick(rng.uniform("ua", n), (70, 25, 5))
        self.ua = self._actor_ua[self.actor, slot]

        # Addresses: mostly the actor's first one; now and then one never seen before.
        su = rng.uniform("ip_slot", n)
        slot = np.floor(su * su * self._actor_ip_count[self.actor]).astype(np.int64)
        ip = self._actor_ip[self.actor, slot]
        rare = np.flatnonzero(rng.uniform("ip_rare", n) < catalog.RARE_IP_RATE)
        if len(rare):
            words = rng.raw("ip_new", len(rare)).tolist()
            self.ip_table = self.ip_table[:self._pool_ips] + [self._make_ip(w) for w in words]
            ip[rare] = self._pool_ips + np.arange(len(rare), dtype=np.int32)
        self.ip = ip.astype(np.int32)

    # ---------------------------------------------------------------- access

    def __len__(self):
        return self.size

    @property
    def now_text(self):
        return format_ts(self.now)

    def entry_id(self, i):
        return _format_uuid(int(self.id_hi[i]), int(self.id_lo[i]))

    def entry(self, i):
        """Entry ``i`` of the default order (0 = newest)."""
        if not 0 <= i < self.size:
            raise IndexError(i)
        return self.render([i])[0]

    def render(self, indices):
        """Entries for a list of indexes, in that order (vectorised field gathers)."""
        idx = np.asarray(indices, dtype=np.int64)
        cols = zip((-self.neg_ts[idx]).tolist(), self.id_hi[idx].tolist(), self.id_lo[idx].tolist(),
                   self.actor[idx].tolist(), self.op[idx].tolist(), self.res[idx].tolist(),
                   self.status[idx].tolist(), self.target_state[idx].tolist(),
                   self.path_idx[idx].tolist(), self.ua[idx].tolist(), self.ip[idx].tolist())
        out = []
        ops, actors, resources = self.operations, self.actors, self.resources
        for i, (ts, hi, lo, actor, op, res, status, state, path, ua, ip) in zip(idx.tolist(), cols):
            o = ops[op]
            entry = {
                "id": _format_uuid(hi, lo),
                "action": o.action,
                "actor": dict(actors[actor]),
                "client_ip": self.ip_table[ip],
                "created_at": format_ts(ts),
                "method": o.method,
                "path": self.path_table[path],
                "status_code": status,
                "user_agent": self.user_agents[ua],
            }
            if state == 2:
                entry["target"] = {"id": resources[o.ttype][res], "type": o.ttype}
            elif state == 1:
                entry["target"] = None
            if i in self.overrides:
                overrides_mod.apply(entry, self.overrides[i])
            out.append(entry)
        return out

    def index_of(self, entry_id):
        """Index of the entry with this id, or None."""
        if not isinstance(entry_id, str) or not _UUID_RE.match(entry_id):
            return None
        value = int(entry_id.replace("-", ""), 16)
        hi, lo = np.uint64(value >> 64), np.uint64(value & 0xFFFFFFFFFFFFFFFF)
        pos = int(np.searchsorted(self.id_hi, hi, sorter=self._id_sorter))
        while pos < self.size:
            i = int(self._id_sorter[pos])
            if self.id_hi[i] != hi:
                break
            if self.id_lo[i] == lo:
                return i
            pos += 1
        return None

    def get(self, entry_id, default=None):
        """The entry with this id, or ``default``."""
        i = self.index_of(entry_id)
        return default if i is None else self.entry(i)

    def iter_all(self, chunk=1000):
        """Every entry, newest first, rendered ``chunk`` at a time."""
        for start in range(0, self.size, chunk):
            yield from self.render(range(start, min(start + chunk, self.size)))

    def warm(self):
        """Build the lazily made sort helpers now (a few hundred ms at a million entries)."""
        self._selector.warm()
        release_memory()

    def indices(self, query):
        """What ``query`` lists, in its order: a lazy sequence of indexes with ``len()``
        (the total count) and contiguous slices (int64 arrays)."""
        return self._selector.indices(query)

    def select(self, filters=None, sort=None):
        """Every entry the 2026-08 API lists for these query parameters, all pages joined.

        ``filters`` uses the contract's parameter names; values may be text, numbers or
        aware datetimes. Raises ``QueryError`` for values the API would reject.
        """
        from .query import Query  # pylint: disable=import-outside-toplevel
        sel = self.indices(Query.from_filters(filters or {}, sort))
        out = []
        for start in range(0, len(sel), 1000):
            out.extend(self.render(sel[start:start + 1000]))
        return out

    def count(self, filters=None, sort=None):
        """How many entries ``select`` would return (the API's ``total_count``)."""
        from .query import Query  # pylint: disable=import-outside-toplevel
        return len(self.indices(Query.from_filters(filters or {}, sort)))

    def target_refs(self, target_id):
        """(type, pool index) pairs of the resources with this id."""
        return self._target_lookup.get(target_id, [])
