# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Query parameters of ``GET /v1/audit_logs``: parsed and validated once, as the API does.

A ``Query`` holds the filters and sort of a request in parsed form and a canonical ``key``
that names the list it selects (cursors are bound to it, selections are cached by it).
"""

import calendar
import datetime
import json
import re

FILTERS = ("action", "actor_id", "actor_type", "client_ip", "created_at_min", "created_at_max",
           "method", "path", "status_code_min", "status_code_max", "target_id", "target_type")
SORT_FIELDS = ("created_at", "status_code")
ACTOR_TYPES = ("user", "api_key")
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 10, 100, 10
SINGLE_VALUED = FILTERS + ("sort", "limit", "cursor")

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_INT = re.compile(r"^[+-]?\d{1,9}$")


class QueryError(ValueError):
    """A request the API rejects: ``status`` is 422 for a bad value, 400 for a bad cursor."""

    def __init__(self, message, status=422, param=None):
        super(QueryError, self).__init__(message)
        self.message = message
        self.status = status
        self.param = param


def parse_rfc3339(text):
    """Microseconds since the epoch for an RFC 3339 date-time, or None if it is not one."""
    m = _RFC3339.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    frac = m.group(7) or ""
    micros = int((frac[1:] + "000000")[:6]) if frac else 0
    extra = 1 if frac and int(frac[7:] or "0") else 0  # digits beyond microseconds
    zone = m.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hh, mm = int(zone[1:3]), int(zone[4:6])
        if hh > 23 or mm > 59:
            return None
        offset = sign * (hh * 3600 + mm * 60)
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    # Round sub-microsecond digits up: only ever used to compare with whole seconds.
    return secs * 1000000 + micros + extra


def _text(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise QueryError("date-times must be timezone-aware")
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_sort(text):
    terms = []
    for raw in text.split(","):
        term = raw.strip()
        field, sep, direction = term.partition(":")
        if not sep or field not in SORT_FIELDS or direction not in ("asc", "desc"):
            raise QueryError("sort: each term must be field:asc or field:desc with field one of"
                             " %s; got %r" % (", ".join(SORT_FIELDS), term), param="sort")
        if any(f == field for f, dummy in terms):
            raise QueryError("sort: %s is given twice" % field, param="sort")
        terms.append((field, direction))
    return tuple(terms)


class Query(object):
    """Parsed filters and sort terms; ``key`` is their canonical text."""

    __slots__ = ("filters", "sort", "key")

    def __init__(self, filters, sort):
        self.filters = filters
        self.sort = sort
        self.key = json.dumps([sorted(filters.items()), list(sort)], separators=(",", ":"))

    @classmethod
    def from_filters(cls, filters, sort=None):
        """From a mapping of parameter names to values (text, numbers, datetimes)."""
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise QueryError("unknown filter(s): %s" % ", ".join(unknown))
        texts = dict((k, _text(v)) for k, v in filters.items() if v is not None)
        return cls._parse(texts, None if sort is None else _text(sort))

    @classmethod
    def from_params(cls, params, api="2026-08"):
        """From parsed query-string pairs (name -> list of values).

        Returns (query, limit, cursor). The seed generation of the API knows only ``cursor``
        and ``limit`` and ignores everything else, as an older server would.
        """
        for name in SINGLE_VALUED:
            if len(params.get(name, ())) > 1:
                raise QueryError("%s takes one value" % name, param=name)
        one = dict((k, v[0]) for k, v in params.items() if v and v[0] != "")
        limit = DEFAULT_LIMIT
        if "limit" in one:
            if not _INT.match(one["limit"]):
                raise QueryError("limit must be an integer", param="limit")
            limit = int(one["limit"])
            if not MIN_LIMIT <= limit <= MAX_LIMIT:
                raise QueryError("limit must be between %d and %d" % (MIN_LIMIT, MAX_LIMIT),
                                 param="limit")
        cursor = one.get("cursor")
        if api == "seed":
            return cls({}, ()), limit, cursor
        texts = dict((k, v) for k, v in one.items() if k in FILTERS)
        return cls._parse(texts, one.get("sort")), limit, cursor

    @classmethod
    def _parse(cls, texts, sort):
        out = {}
        for name, value in texts.items():
            if value == "":
                continue
            if name in ("created_at_min", "created_at_max"):
                micros = parse_rfc3339(value)
                if micros is None:
                    raise QueryError("%s must be an RFC 3339 date-time" % name, param=name)
                # Entries carry whole seconds: an inclusive bound becomes a whole second.
                seconds, rest = divmod(micros, 1000000)
                out[name] = seconds + 1 if rest and name.endswith("min") else seconds
            elif name in ("status_code_min", "status_code_max"):
                if not _INT.match(value):
                    raise QueryError("%s must be an integer" % name, param=name)
                out[name] = int(value)
            elif name == "actor_type":
                if value not in ACTOR_TYPES:
                    raise QueryError("actor_type must be one of %s" % ", ".join(ACTOR_TYPES),
                                     param=name)
                out[name] = value
            elif name == "path":
                out[name] = value.lower()
            else:
                out[name] = value
        terms = _parse_sort(sort) if sort else ()
        # A last created_at:desc adds nothing to the implicit one: one list, one key.
        if terms and terms[-1] == ("created_at", "desc"):
            terms = terms[:-1]
        return cls(out, terms)
