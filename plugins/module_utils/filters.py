# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of a list request other than its window: validated, and compiled once into
checks of an entry (exact strings or globs, actor types, methods, networks, status ranges)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from fnmatch import translate

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption

# Filters over one text field of an entry: option name -> how to read the field.
TEXT_FIELDS = {
    "action": lambda e: e.get("action"),
    "actor_id": lambda e: (e.get("actor") or {}).get("id"),
    "actor_name": lambda e: (e.get("actor") or {}).get("name"),
    "target_id": lambda e: (e.get("target") or {}).get("id"),
    "target_type": lambda e: (e.get("target") or {}).get("type"),
}
# Of those, the ones a 2026-08 server filters on exactly, under the same parameter name.
EXACT_SERVER_FIELDS = ("action", "actor_id", "target_id", "target_type")
ACTOR_TYPES = ("user", "api_key")
FILTER_NAMES = ("since", "until", "action", "actor_id", "actor_name", "actor_type", "target_id",
                "target_type", "method", "path", "client_ip", "status_code")

_GLOB_CHARS = re.compile(r"[*?\[]")
_METHOD = re.compile(r"^[A-Za-z]+$")
_STATUS_CODE = re.compile(r"^([1-5])(?:(\d\d)|xx)$", re.IGNORECASE)
_STATUS_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")


def as_list(name, value):
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


def is_glob(value):
    return bool(_GLOB_CHARS.search(value))


class TextMatcher(object):
    """Values of one field: exact strings OR glob patterns, all compiled once."""

    def __init__(self, values, fold_case=False):
        self.fold_case = fold_case
        if fold_case:
            values = [v.lower() for v in values]
        self.exact = frozenset(v for v in values if not is_glob(v))
        globs = [v for v in values if is_glob(v)]
        self.regex = re.compile("|".join("(?:%s)" % translate(g) for g in globs)) if globs else None

    def __call__(self, value):
        if not isinstance(value, str):
            return False
        if self.fold_case:
            value = value.lower()
        if value in self.exact:
            return True
        return bool(self.regex and self.regex.match(value))


def parse_status(value):
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


def parse_network(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidOption("client_ip", "%r is not an IPv4 or IPv6 address or CIDR range"
                                         " (203.0.113.7, 10.0.0.0/8, 2001:db8::/32)" % (value,))


def longest_literal(pattern):
    """The longest run of a glob that must appear, verbatim, in every string it matches."""
    runs = re.split(r"\[[^\]]*\]|[*?\[\]]", pattern)
    return max(runs, key=len) if runs else ""


class Filters(object):
    """``raw`` (option name -> list of strings) validated and compiled: ``checks`` (each
    takes an entry, all must pass), ``networks`` and ``status_ranges`` (what push-down
    needs). Methods are upper-cased in ``raw`` itself, as the fingerprint records them."""

    def __init__(self, raw):
        checks = []
        for name, read in TEXT_FIELDS.items():
            if raw[name]:
                checks.append(_field_check(read, TextMatcher(raw[name])))
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
            paths = TextMatcher(raw["path"], fold_case=True)
            checks.append(lambda e: paths(e.get("path")))
        self.networks = [parse_network(v) for v in raw["client_ip"]]
        if self.networks:
            checks.append(self._ip_check)
        self.status_ranges = [parse_status(v) for v in raw["status_code"]]
        if self.status_ranges:
            ranges = self.status_ranges
            checks.append(lambda e: isinstance(e.get("status_code"), int)
                          and any(low <= e["status_code"] <= high for low, high in ranges))
        self.checks = checks

    def _ip_check(self, entry):
        try:
            address = ipaddress.ip_address(entry.get("client_ip"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _field_check(read, matcher):
    return lambda entry: matcher(read(entry))
