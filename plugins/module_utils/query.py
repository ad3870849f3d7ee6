# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Query: the filters of a list request, parsed and validated once.

A Query knows three things: the resolved time window, which query parameters a filtering
(2026-08) server can apply without losing an entry the client would keep (``server_params``),
and whether an entry matches the whole predicate (``matches``). The scan sends the first and
applies the second to every entry, so the answer is the same whichever server generation replies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import re
from fnmatch import translate

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import ORDERS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_instant,
    parse_rfc3339,
    utc_now,
)

# Filters over one text field of an entry: option name -> how to read the field.
_TEXT_FIELDS = {
    "action": lambda e: e.get("action"),
    "actor_id": lambda e: (e.get("actor") or {}).get("id"),
    "actor_name": lambda e: (e.get("actor") or {}).get("name"),
    "target_id": lambda e: (e.get("target") or {}).get("id"),
    "target_type": lambda e: (e.get("target") or {}).get("type"),
}
# Of those, the ones a 2026-08 server filters on exactly, under the same parameter name.
_EXACT_SERVER_FIELDS = ("action", "actor_id", "target_id", "target_type")
ACTOR_TYPES = ("user", "api_key")
FILTER_NAMES = ("since", "until", "action", "actor_id", "actor_name", "actor_type", "target_id",
                "target_type", "method", "path", "client_ip", "status_code")

_GLOB_CHARS = re.compile(r"[*?\[]")
_METHOD = re.compile(r"^[A-Za-z]+$")
_STATUS_CODE = re.compile(r"^([1-5])(?:(\d\d)|xx)$", re.IGNORECASE)
_STATUS_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")


def _as_list(name, value):
    if value is None:
        return []
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InvalidOption(name, "expected a string or a list of strings, got %s"
                            % type(value).__name__)
    result = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InvalidOption(name, "expected strings, got %r" % (item,))
        item = str(item).strip()
        if not item:
            raise InvalidOption(name, "empty values are not allowed")
        result.append(item)
    return result


def _is_glob(value):
    return bool(_GLOB_CHARS.search(value))


class _TextMatcher(object):
    """Values of one field: exact strings OR glob patterns, all compiled once."""

    def __init__(self, values, fold_case=False):
        self.fold_case = fold_case
        if fold_case:
            values = [v.lower() for v in values]
        self.exact = frozenset(v for v in values if not _is_glob(v))
        globs = [v for v in values if _is_glob(v)]
        self.regex = re.compile("|".join("(?:%s)" % translate(g) for g in globs)) if globs else None

    def __call__(self, value):
        if not isinstance(value, str):
            return False
        if self.fold_case:
            value = value.lower()
        if value in self.exact:
            return True
        return bool(self.regex and self.regex.match(value))


def _parse_status(value):
    """'404' -> (404, 404); '400-499' -> (400, 499); '5xx' -> (500, 599)."""
    match = _STATUS_CODE.match(value)
    if match:
        first, rest = match.groups()
        if rest is None:
            return int(first) * 100, int(first) * 100 + 99
        code = int(first + rest)
        return code, code
    match = _STATUS_RANGE.match(value)
    if match:
        low, high = int(match.group(1)), int(match.group(2))
        if 100 <= low <= high <= 599:
            return low, high
    raise InvalidOption("status_code", "%r is not a status; use a code (404), an inclusive range"
                                       " (400-499) or a class (5xx), between 100 and 599" % (value,))


def _parse_network(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidOption("client_ip", "%r is not an IPv4 or IPv6 address or CIDR range"
                                         " (203.0.113.7, 10.0.0.0/8, 2001:db8::/32)" % (value,))


def _longest_literal(pattern):
    """The longest run of a glob that must appear, verbatim, in every string it matches."""
    runs = re.split(r"\[[^\]]*\]|[*?\[\]]", pattern)
    return max(runs, key=len) if runs else ""


class Query(object):
    """Parsed list filters, a resolved time window and the requested order."""

    def __init__(self, since=None, until=None, order="newest_first", now=None, **filters):
        unknown = set(filters) - set(FILTER_NAMES)
        if unknown:
            raise InvalidOption(sorted(unknown)[0], "not a filter of the audit log")
        if order not in ORDERS:
            raise InvalidOption("order", "%r is not one of %s" % (order, ", ".join(ORDERS)))
        self.order = order
        self._raw = dict((name, _as_list(name, filters.get(name))) for name in FILTER_NAMES
                         if name not in ("since", "until"))
        self._raw_window = {"since": since, "until": until}
        now = now or utc_now()
        self.since = self._instant("since", since, now)
        self.until = self._instant("until", until, now)
        if self.since and self.until and self.since >= self.until:
            raise InvalidOption("until", "the window is empty: until (%s) is not after since (%s)"
                                % (format_utc(self.until), format_utc(self.since)))
        self._build_predicates()

    @classmethod
    def from_options(cls, options, now=None):
        """A Query from a mapping of option names; a missing or ``None`` option is unset."""
        kwargs = dict((name, options.get(name)) for name in FILTER_NAMES)
        return cls(order=options.get("order") or "newest_first", now=now, **kwargs)

    @staticmethod
    def _instant(name, value, now):
        if value is None or value == "":
            return None
        if hasattr(value, "tzinfo"):
            if value.tzinfo is None:
                raise InvalidOption(name, "a datetime needs a time zone")
            return value
        try:
            return parse_instant(value, now)
        except ValueError as err:
            raise InvalidOption(name, str(err))

    def _build_predicates(self):
        raw = self._raw
        checks = []
        for name, read in _TEXT_FIELDS.items():
            if raw[name]:
                checks.append(self._field_check(read, _TextMatcher(raw[name])))
        for value in raw["actor_type"]:
            if value not in ACTOR_TYPES:
                raise InvalidOption("actor_type", "%r is not one of %s"
                                    % (value, ", ".join(ACTOR_TYPES)))
        if raw["actor_type"]:
            types = frozenset(raw["actor_type"])
            checks.append(lambda e: (e.get("actor") or {}).get("type") in types)
        for value in raw["method"]:
            if not _METHOD.match(value):
                raise InvalidOption("method", "%r is not an HTTP method such as GET or DELETE"
                                    % (value,))
        raw["method"] = [m.upper() for m in raw["method"]]
        if raw["method"]:
            methods = frozenset(raw["method"])
            checks.append(lambda e: isinstance(e.get("method"), str)
                          and e["method"].upper() in methods)
        if raw["path"]:
            # The whole path against a glob, case-insensitively (the server's path filter is
            # case-insensitive too).
            paths = _TextMatcher(raw["path"], fold_case=True)
            checks.append(lambda e: paths(e.get("path")))
        self._networks = [_parse_network(v) for v in raw["client_ip"]]
        if self._networks:
            checks.append(self._ip_check)
        self._status_ranges = [_parse_status(v) for v in raw["status_code"]]
        if self._status_ranges:
            ranges = self._status_ranges
            checks.append(lambda e: isinstance(e.get("status_code"), int)
                          and any(low <= e["status_code"] <= high for low, high in ranges))
        if self.since or self.until:
            checks.append(self._window_check)
        self._checks = checks

    @staticmethod
    def _field_check(read, matcher):
        return lambda entry: matcher(read(entry))

    def _ip_check(self, entry):
        try:
            address = ipaddress.ip_address(entry.get("client_ip"))
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def _window_check(self, entry):
        created = self.entry_time(entry)
        if created is None:
            return False
        if self.since and created < self.since:
            return False
        if self.until and created >= self.until:
            return False
        return True

    @staticmethod
    def entry_time(entry):
        """The entry's ``created_at`` as an aware datetime, or None when it has none."""
        return parse_rfc3339(entry.get("created_at"))

    def matches(self, entry):
        """Whether the entry passes every filter (the full predicate, client side)."""
        for check in self._checks:
            if not check(entry):
                return False
        return True

    @property
    def has_filters(self):
        return bool(self._checks)

    @property
    def window(self):
        return {
            "since": format_utc(self.since) if self.since else None,
            "until": format_utc(self.until) if self.until else None,
        }

    def with_window(self, since, until):
        """A copy of this query with the window taken from a resume token."""
        clone = Query.__new__(Query)
        clone.__dict__.update(self.__dict__)
        clone.since = parse_rfc3339(since) if since else None
        clone.until = parse_rfc3339(until) if until else None
        if (since and clone.since is None) or (until and clone.until is None):
            raise InvalidOption("cursor", "is damaged; pass the next_cursor value unchanged")
        clone._build_predicates()
        return clone

    def sort_param(self):
        return "created_at:desc" if self.order == "newest_first" else "created_at:asc"

    def server_params(self):
        """Query parameters a 2026-08 server applies, each a superset of the client filter.

        A parameter takes one value, so a filter is pushed down only when one server value
        covers it: a single exact value, the bounds of the window (``until`` is exclusive here
        and inclusive there; the re-check drops the boundary), one range spanning every
        requested status, or the longest literal part of a single path glob.
        """
        raw = self._raw
        params = {}
        if self.since:
            params["created_at_min"] = format_utc(self.since)
        if self.until:
            params["created_at_max"] = format_utc(self.until)
        for name in _EXACT_SERVER_FIELDS:
            if len(raw[name]) == 1 and not _is_glob(raw[name][0]):
                params[name] = raw[name][0]
        if len(raw["actor_type"]) == 1:
            params["actor_type"] = raw["actor_type"][0]
        if len(raw["method"]) == 1:
            params["method"] = raw["method"][0]
        if len(raw["path"]) == 1:
            literal = _longest_literal(raw["path"][0])
            if literal:
                params["path"] = literal
        if len(self._networks) == 1:
            network = self._networks[0]
            if network.num_addresses == 1:
                # Sent in canonical form (RFC 5952 for IPv6), which is how addresses are stored.
                params["client_ip"] = str(network.network_address)
        if self._status_ranges:
            params["status_code_min"] = min(bounds[0] for bounds in self._status_ranges)
            params["status_code_max"] = max(bounds[1] for bounds in self._status_ranges)
        return params

    def fingerprint(self):
        """A digest of the filters and order as typed (relative times unresolved), which a
        resume token is bound to."""
        material = {"filters": self._raw, "window": self._raw_window, "order": self.order}
        text = json.dumps(material, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def describe(self):
        """The filters as typed, for reports and manifests (no secrets live in a Query)."""
        described = dict((k, list(v)) for k, v in self._raw.items() if v)
        described.update(self.window)
        described["order"] = self.order
        return described
