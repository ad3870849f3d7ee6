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
import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.filters import (
    ACTOR_TYPES,
    FILTER_NAMES,
    Filters,
    as_list,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import ORDERS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.pushdown import server_params
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_instant,
    parse_rfc3339,
    utc_now,
)

# ACTOR_TYPES and FILTER_NAMES are re-exported: the schema and the adapters read them here.
__all__ = ["ACTOR_TYPES", "FILTER_NAMES", "Query"]


class Query(object):
    """Parsed list filters, a resolved time window and the requested order."""

    def __init__(self, since=None, until=None, order="newest_first", now=None, **filters):
        unknown = set(filters) - set(FILTER_NAMES)
        if unknown:
            raise InvalidOption(sorted(unknown)[0], "not a filter of the audit log")
        if order not in ORDERS:
            raise InvalidOption("order", "%r is not one of %s" % (order, ", ".join(ORDERS)))
        self.order = order
        self._raw = dict((name, as_list(name, filters.get(name))) for name in FILTER_NAMES
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
        compiled = Filters(self._raw)
        self._networks, self._status_ranges = compiled.networks, compiled.status_ranges
        self._checks = compiled.checks
        if self.since or self.until:
            self._checks.append(self._window_check)

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
        """Query parameters a 2026-08 server applies, each a superset of the client filter
        (which ones: pushdown.server_params)."""
        return server_params(self._raw, self.since, self.until, self._networks,
                             self._status_ranges)

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
