# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures of an evidence report, gathered in one streaming pass over a bundle's JSONL.

Memory grows with the number of distinct actors, actions, target types and client IPs, not
with the number of entries, and each of those tallies is capped (``max_keys``): past the cap,
new keys are counted together and the report says so, so a hostile log cannot exhaust memory.
Every ordering is by count then by key, so the same bundle always gives the same report.
Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TOP,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import read_lines
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import instant_micros

# Bucket widths the activity chart may use, smallest first; the first that fits the window
# in at most MAX_BUCKETS bars wins.
BUCKET_SECONDS = (60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                  86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400)
MAX_BUCKETS = 120
DEFAULT_MAX_KEYS = 100000
_SECOND = 1000000
_CREATED = re.compile(rb'"created_at":"([^"\\]*)"')


def is_failure(entry):
    status = entry.get("status_code")
    return isinstance(status, int) and not isinstance(status, bool) and status >= 400


def is_deletion_attempt(entry):
    """A DELETE request, or an action whose verb deletes (``vm.deleted``, ``key.delete``)."""
    method = entry.get("method")
    if isinstance(method, str) and method.upper() == "DELETE":
        return True
    action = entry.get("action")
    return isinstance(action, str) and action.rsplit(".", 1)[-1] in ("deleted", "delete")


def is_deletion(entry):
    """A deletion that happened: an attempt the API did not refuse (a failed one deleted
    nothing, and is counted apart)."""
    return is_deletion_attempt(entry) and not is_failure(entry)


def text_of(value, missing="(none)"):
    if value is None or value == "":
        return missing
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class Tally(object):
    """Counts per key, capped at ``max_keys`` distinct keys; the rest go to ``overflow``."""

    def __init__(self, max_keys, make):
        self.max_keys = max_keys
        self.make = make
        self.items = {}
        self.overflow = 0

    def get(self, key):
        """The record of ``key``, created on first sight; None once the cap is reached."""
        record = self.items.get(key)
        if record is None:
            if len(self.items) >= self.max_keys:
                self.overflow += 1
                return None
            record = self.items[key] = self.make()
        return record

    def top(self, count, weight):
        ranked = sorted(self.items.items(), key=lambda kv: (-weight(kv[1]), kv[0]))
        return ranked if count is None else ranked[:count]


class _Span(object):
    """First and last time seen, in microseconds and as sent."""

    __slots__ = ("first", "first_text", "last", "last_text")

    def __init__(self):
        self.first = self.last = None
        self.first_text = self.last_text = None

    def see(self, micros, text):
        if micros is None:
            return
        if self.first is None or micros < self.first:
            self.first, self.first_text = micros, text
        if self.last is None or micros > self.last:
            self.last, self.last_text = micros, text


def _actor_record():
    return {"calls": 0, "failures": 0, "name": None, "span": _Span()}


def _key_record():
    return {"calls": 0, "failures": 0, "span": _Span(), "ips": set(), "ips_more": False,
            "actions": {}}


def _ip_record():
    return {"calls": 0, "failures": 0, "span": _Span(), "actors": set(), "actors_more": False}


def _pair():
    return [0, 0]


def _brief(entry):
    """The fields of an entry a reviewer reads in a list of calls."""
    actor = entry.get("actor") if isinstance(entry.get("actor"), dict) else {}
    target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
    return {
        "id": text_of(entry.get("id")),
        "created_at": text_of(entry.get("created_at")),
        "actor": text_of(actor.get("name") or actor.get("id")),
        "actor_type": text_of(actor.get("type")),
        "action": text_of(entry.get("action")),
        "method": text_of(entry.get("method")),
        "path": text_of(entry.get("path")),
        "status_code": entry.get("status_code"),
        "target": "%s %s" % (text_of(target.get("type"), ""), text_of(target.get("id"), "")),
        "client_ip": text_of(entry.get("client_ip")),
    }


def _by_calls(pair):
    return pair[0]


def choose_bucket(start, end):
    """Bucket width in seconds for a chart from ``start`` to ``end`` (microseconds)."""
    span = max(1, (end - start) // _SECOND)
    for seconds in BUCKET_SECONDS:
        if span / seconds <= MAX_BUCKETS:
            return seconds
    return BUCKET_SECONDS[-1]


class Aggregator(object):
    """Feed entries with ``add``; ``figures()`` gives everything the renderers need."""

    def __init__(self, start, end, top=DEFAULT_TOP, list_limit=DEFAULT_LIST_LIMIT, max_keys=DEFAULT_MAX_KEYS,
                 baseline_ips=None, per_key_limit=20):
        self.top_n = top
        self.list_limit = list_limit
        self.per_key_limit = per_key_limit
        self.start = start
        self.end = max(end, start + _SECOND)
        self.bucket_seconds = choose_bucket(self.start, self.end)
        width = self.bucket_seconds * _SECOND
        count = max(1, -(-(self.end - self.start) // width))
        self.buckets = [[0, 0] for _index in range(count)]
        self.outside_chart = 0
        self.baseline_ips = baseline_ips
        self.entries = 0
        self.failures = 0
        self.untimed = 0
        self.span = _Span()
        self.actors = Tally(max_keys, _actor_record)
        self.actions = Tally(max_keys, _pair)
        self.target_types = Tally(max_keys, _pair)
        self.statuses = Tally(max_keys, _pair)
        self.api_keys = Tally(max_keys, _key_record)
        self.ips = Tally(max_keys, _ip_record)
        self.failed_calls = []
        self.deletions = 0
        self.failed_deletions = 0
        self.deletion_calls = []
        self.deletion_types = Tally(max_keys, _pair)
        self.deletion_actors = Tally(max_keys, _pair)

    def add(self, entry):
        self.entries += 1
        failed = is_failure(entry)
        self.failures += failed
        created_text = entry.get("created_at")
        micros = instant_micros(created_text)
        if micros is None:
            self.untimed += 1
        else:
            self.span.see(micros, created_text)
            index = (micros - self.start) // (self.bucket_seconds * _SECOND)
            if 0 <= index < len(self.buckets):
                self.buckets[index][0] += 1
                self.buckets[index][1] += failed
            else:
                self.outside_chart += 1

        actor = entry.get("actor") if isinstance(entry.get("actor"), dict) else {}
        actor_key = (text_of(actor.get("type")), text_of(actor.get("id")))
        record = self.actors.get(actor_key)
        if record is not None:
            record["calls"] += 1
            record["failures"] += failed
            if actor.get("name"):
                record["name"] = text_of(actor.get("name"))
            record["span"].see(micros, created_text)

        action = text_of(entry.get("action"))
        self._count(self.actions, action, failed)
        target = entry.get("target") if isinstance(entry.get("target"), dict) else {}
        target_type = text_of(target.get("type"))
        self._count(self.target_types, target_type, failed)
        status = entry.get("status_code")
        self._count(self.statuses, status if isinstance(status, int) else -1, failed)

        ip = text_of(entry.get("client_ip"))
        if actor_key[0] == "api_key":
            self._api_key(actor_key[1], actor, ip, action, failed, micros, created_text)
        ip_record = self.ips.get(ip)
        if ip_record is not None:
            ip_record["calls"] += 1
            ip_record["failures"] += failed
            ip_record["span"].see(micros, created_text)
            self._bounded_add(ip_record, "actors", text_of(actor.get("name") or actor.get("id")))

        if failed and len(self.failed_calls) < self.list_limit:
            self.failed_calls.append(_brief(entry))
        if is_deletion_attempt(entry) and failed:
            self.failed_deletions += 1
        elif is_deletion_attempt(entry):
            self.deletions += 1
            self._count(self.deletion_types, target_type, failed)
            self._count(self.deletion_actors, actor_key, failed)
            if len(self.deletion_calls) < self.list_limit:
                self.deletion_calls.append(_brief(entry))

    @staticmethod
    def _count(tally, key, failed):
        pair = tally.get(key)
        if pair is not None:
            pair[0] += 1
            pair[1] += failed

    def _bounded_add(self, record, field, value):
        values = record[field]
        if value in values:
            return
        if len(values) >= self.per_key_limit:
            record[field + "_more"] = True
            return
        values.add(value)

    def _api_key(self, key_id, actor, ip, action, failed, micros, created_text):
        record = self.api_keys.get(key_id)
        if record is None:
            return
        record["calls"] += 1
        record["failures"] += failed
        record["span"].see(micros, created_text)
        if actor.get("name"):
            record["name"] = text_of(actor.get("name"))
        self._bounded_add(record, "ips", ip)
        actions = record["actions"]
        if action in actions or len(actions) < self.per_key_limit:
            actions[action] = actions.get(action, 0) + 1

    def _api_key_rows(self):
        rows = []
        for key_id, rec in self.api_keys.top(None, lambda rec: rec["calls"]):
            actions = sorted(rec["actions"].items(), key=lambda kv: (-kv[1], kv[0]))
            rows.append({
                "id": key_id, "name": rec.get("name"), "calls": rec["calls"],
                "failures": rec["failures"], "first": rec["span"].first_text,
                "last": rec["span"].last_text, "ips": sorted(rec["ips"]),
                "ips_more": rec["ips_more"], "top_actions": actions[:3]})
        return rows

    def _new_ip_rows(self):
        """Client IPs not in the baseline (all of them without one), by first call."""
        rows = []
        for ip, rec in sorted(self.ips.items.items(),
                              key=lambda kv: (kv[1]["span"].first is None,
                                              kv[1]["span"].first or 0, kv[0])):
            if self.baseline_ips is not None and ip in self.baseline_ips:
                continue
            rows.append({"ip": ip, "calls": rec["calls"], "failures": rec["failures"],
                         "first": rec["span"].first_text, "last": rec["span"].last_text,
                         "actors": sorted(rec["actors"]), "actors_more": rec["actors_more"]})
        return rows

    def figures(self):
        """Plain data: every table and the chart series, sorted deterministically."""
        top = self.top_n
        actors = [{"type": key[0], "id": key[1], "name": rec["name"], "calls": rec["calls"],
                   "failures": rec["failures"], "first": rec["span"].first_text,
                   "last": rec["span"].last_text}
                  for key, rec in self.actors.top(top, lambda rec: rec["calls"])]
        failing_actors = [{"type": key[0], "id": key[1], "name": rec["name"],
                           "failures": rec["failures"], "calls": rec["calls"]}
                          for key, rec in self.actors.top(None, lambda rec: rec["failures"])
                          if rec["failures"]][:top]
        api_keys = self._api_key_rows()
        ips = self._new_ip_rows()
        overflow = dict((name, tally.overflow) for name, tally in (
            ("actors", self.actors), ("actions", self.actions),
            ("target_types", self.target_types), ("client_ips", self.ips),
            ("api_keys", self.api_keys)) if tally.overflow)
        return {
            "entries": self.entries,
            "failures": self.failures,
            "untimed": self.untimed,
            "first": self.span.first_text,
            "last": self.span.last_text,
            "chart": {"start": self.start, "bucket_seconds": self.bucket_seconds,
                      "buckets": [list(b) for b in self.buckets],
                      "outside": self.outside_chart},
            "actors": actors,
            "actor_count": len(self.actors.items),
            "failing_actors": failing_actors,
            "actions": [(k, v[0], v[1]) for k, v in self.actions.top(top, _by_calls)],
            "action_count": len(self.actions.items),
            "target_types": [(k, v[0], v[1]) for k, v in self.target_types.top(top, _by_calls)],
            "statuses": sorted((k, v[0]) for k, v in self.statuses.items.items()
                               if k >= 400 or k < 0),
            "failed_calls": self.failed_calls,
            "api_keys": api_keys,
            "api_key_calls": sum(rec["calls"] for rec in self.api_keys.items.values()),
            "deletions": self.deletions,
            "failed_deletions": self.failed_deletions,
            "deletion_types": [(k, v[0]) for k, v in self.deletion_types.top(top, _by_calls)],
            "deletion_actors": [("%s %s" % k, v[0]) for k, v in
                                self.deletion_actors.top(top, _by_calls)],
            "deletion_calls": self.deletion_calls,
            "ip_count": len(self.ips.items),
            "new_ips": ips,
            "baseline": self.baseline_ips is not None,
            "overflow": overflow,
            "list_limit": self.list_limit,
        }


def time_bounds(path):
    """Earliest and latest ``created_at`` of a canonical JSONL file, in microseconds.

    Reads the raw bytes with a pattern (canonical lines spell the field one way), which is
    several times faster than parsing every line; used only when the window is open-ended.
    """
    low = high = None
    for line in read_lines(path):
        match = _CREATED.search(line)
        if not match:
            continue
        micros = instant_micros(match.group(1).decode("utf-8", "replace"))
        if micros is None:
            continue
        low = micros if low is None or micros < low else low
        high = micros if high is None or micros > high else high
    return low, high


def aggregate(path, aggregator):
    """Stream a JSONL file into ``aggregator``; returns it."""
    for number, line in enumerate(read_lines(path), 1):
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:
            raise ValueError("%s line %d is not JSON" % (path, number))
        if not isinstance(entry, dict):
            raise ValueError("%s line %d is not a JSON object" % (path, number))
        aggregator.add(entry)
    return aggregator
