# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entries added while the emulator runs (``POST /_emulator/entries``), for event tests.

The seeded data set is immutable and columnar; added entries live beside it in a small list.
Every added entry is created after the data set's ``now``, so in the default order and in any
order led by ``created_at`` they form one block before (descending) or after (ascending) the
seeded selection: pages are sliced from the two without rendering the seeded part. An order
led by ``status_code`` interleaves them; that case renders the seeded selection and sorts the
union (fine for the data sizes a live test uses).
"""

import re
import threading
import time
import uuid

from .data import format_ts
from .query import parse_rfc3339

ACTOR_TYPES = ("user", "api_key")
_TEXT_FIELDS = ("action", "client_ip", "method", "path", "user_agent")
_KNOWN = frozenset(_TEXT_FIELDS + ("actor", "target", "status_code", "created_at", "id"))
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_ADD = 1000


def _default_entry():
    return {
        "action": "vm.deleted",
        "actor": {"id": "emulated-key", "name": "live test key", "type": "api_key"},
        "client_ip": "203.0.113.250",
        "method": "DELETE",
        "path": "/v1/compute/vms/live-vm",
        "status_code": 200,
        "target": {"id": "live-vm", "type": "vm"},
        "user_agent": "curl/8.5.0",
    }


class LiveEntries(object):
    """The added entries of one emulator; thread-safe."""

    def __init__(self, dataset, clock=time.time):
        self.ds = dataset
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = []
        self._by_id = {}

    def __len__(self):
        return len(self._entries)

    def add(self, specs):
        """Add entries from a list of partial entries (or one); returns the entries made.

        Missing fields take the defaults of ``_default_entry``; ``created_at`` defaults to the
        current second, and must be after the data set's ``now`` (the newest seeded entry).
        A ``created_at`` in the past is allowed: it is how a late-arriving entry is emulated.
        """
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or len(specs) > MAX_ADD:
            raise ValueError("entries: give an object or a list of at most %d objects" % MAX_ADD)
        made = [self._make(spec) for spec in specs]
        with self._lock:
            for entry in made:
                if entry["id"] in self._by_id or self.ds.index_of(entry["id"]) is not None:
                    raise ValueError("entries: id %s exists already" % entry["id"])
            for entry in made:
                self._entries.append(entry)
                self._by_id[entry["id"]] = entry
        return made

    def _make(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("entries: each entry must be an object")
        unknown = sorted(set(spec) - _KNOWN)
        if unknown:
            raise ValueError("entries: unknown field(s): %s" % ", ".join(unknown))
        entry = _default_entry()
        entry.update(spec)
        entry["id"] = str(spec.get("id") or uuid.uuid4())
        if not _UUID_RE.match(entry["id"]):
            raise ValueError("entries: id must be a lower-case UUID")
        for name in _TEXT_FIELDS:
            if not isinstance(entry[name], str):
                raise ValueError("entries: %s must be a string" % name)
        actor = entry["actor"]
        if not isinstance(actor, dict) or actor.get("type") not in ACTOR_TYPES \
                or not isinstance(actor.get("id"), str):
            raise ValueError("entries: actor needs an id and a type (user or api_key)")
        entry["actor"] = {"id": actor["id"], "name": actor.get("name"), "type": actor["type"]}
        if entry["target"] is not None and not (
                isinstance(entry["target"], dict) and isinstance(entry["target"].get("id"), str)
                and isinstance(entry["target"].get("type"), str)):
            raise ValueError("entries: target must be null or an object with id and type")
        if isinstance(entry["status_code"], bool) or not isinstance(entry["status_code"], int):
            raise ValueError("entries: status_code must be an integer")
        entry["created_at"] = self._created_at(spec.get("created_at"))
        return entry

    def _created_at(self, text):
        if text is None:
            # The current second; the first second after start-up is the data set's own.
            seconds = max(int(self._clock()), self.ds.now + 1)
        else:
            micros = parse_rfc3339(text) if isinstance(text, str) else None
            if micros is None:
                raise ValueError("entries: created_at must be an RFC 3339 date-time")
            seconds = micros // 1000000  # entries carry whole seconds, as the seeded ones do
            if seconds <= self.ds.now:
                raise ValueError("entries: created_at must be after the data set's now (%s)"
                                 % format_ts(self.ds.now))
        return format_ts(seconds)

    def get(self, entry_id):
        with self._lock:
            entry = self._by_id.get(entry_id)
        return None if entry is None else _copy(entry)

    def selected(self, query):
        """The added entries ``query`` lists, in its order (copies)."""
        with self._lock:
            entries = list(self._entries)
        return sort_entries([_copy(e) for e in entries if matches(e, query.filters)], query.sort)

    def page(self, query, selection, offset, end):
        """Entries [offset, end) of the union of the seeded ``selection`` and the added ones,
        and the union's size."""
        added = self.selected(query)
        seeded = len(selection)
        total = seeded + len(added)
        if not added:
            return self.ds.render(selection[offset:end]), total
        if query.sort and query.sort[0][0] != "created_at":
            union = sort_entries(self.ds.render(selection[0:seeded]) + added, query.sort)
            return union[offset:end], total
        if query.sort and query.sort[0] == ("created_at", "asc"):
            before, after = [], added
        else:
            before, after = added, []
        head = before[offset:end]
        first = max(0, offset - len(before))
        last = max(0, end - len(before))
        last = min(last, seeded)
        middle = self.ds.render(selection[first:last]) if last > first else []
        tail = after[max(0, offset - len(before) - seeded):max(0, end - len(before) - seeded)]
        return head + middle + tail, total


def _copy(entry):
    out = dict(entry)
    out["actor"] = dict(entry["actor"])
    if isinstance(entry.get("target"), dict):
        out["target"] = dict(entry["target"])
    return out


def _seconds(entry):
    return parse_rfc3339(entry["created_at"]) // 1000000


def matches(entry, filters):
    """Whether an entry passes the parsed filters of an emulator ``Query`` (2026-08 rules)."""
    target = entry.get("target") or {}
    fields = {
        "action": entry["action"], "actor_id": entry["actor"]["id"],
        "actor_type": entry["actor"]["type"], "client_ip": entry["client_ip"],
        "method": entry["method"], "target_id": target.get("id"), "target_type": target.get("type"),
    }
    for name, value in filters.items():
        if name in fields and fields[name] != value:
            return False
    created = _seconds(entry)
    checks = (
        ("path", lambda v: v in entry["path"].lower()),
        ("created_at_min", lambda v: created >= v),
        ("created_at_max", lambda v: created <= v),
        ("status_code_min", lambda v: entry["status_code"] >= v),
        ("status_code_max", lambda v: entry["status_code"] <= v),
    )
    return all(check(filters[name]) for name, check in checks if name in filters)


def sort_entries(entries, terms):
    """Entries in the API's order for these sort terms: the terms in precedence, then
    ``created_at`` descending unless a term, last ``id`` in the direction of ``created_at``."""
    created_dir = dict(terms).get("created_at", "desc")
    out = sorted(entries, key=lambda e: e["id"], reverse=created_dir == "desc")
    keys = {"created_at": _seconds, "status_code": lambda e: e["status_code"]}
    passes = list(terms)
    if "created_at" not in dict(terms):
        passes.append(("created_at", "desc"))
    for field, direction in reversed(passes):  # stable sorts, least significant first
        out.sort(key=keys[field], reverse=direction == "desc")
    return out
