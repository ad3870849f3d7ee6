# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A list page as the contract promises it: the JSON types of the fields a scan reads.

A wrong type is a BadResponseError naming the field and the type received: a filter could
otherwise raise (a list is not hashable) or skip an entry silently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import BadResponseError

_ENTRY_FIELDS = (("id", str), ("created_at", str), ("actor", dict), ("target", dict))
_NESTED_FIELDS = (("actor", ("id", "name", "type")), ("target", ("id", "type")))
_JSON_TYPES = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
               (list, "an array"), (dict, "an object"))


def _json_type(value):
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return "null"


def _wrong_type(where, value, expected):
    return BadResponseError("the API answered with %s %s, not %s"
                            % (where, _json_type(value), expected))


def check_entry(entry):
    """Raise BadResponseError unless the fields the scan reads have their JSON types (or are
    absent or null, which the filters treat as not matching)."""
    if not isinstance(entry, dict):
        raise _wrong_type("an entry that is", entry, "an object")
    for name, kind in _ENTRY_FIELDS:
        value = entry.get(name)
        if value is not None and not isinstance(value, kind):
            raise _wrong_type("an entry whose %s is" % name, value,
                              "an object" if kind is dict else "a string")
    for name, fields in _NESTED_FIELDS:
        inner = entry.get(name) or {}
        for field in fields:
            value = inner.get(field)
            if value is not None and not isinstance(value, str):
                raise _wrong_type("an entry whose %s.%s is" % (name, field), value, "a string")


def read_page(page):
    """(items, next_cursor or None, total_count or None) of a list page, types checked."""
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise BadResponseError("the API answered with a page that has no 'items' list")
    pagination = page.get("pagination")
    if pagination is None:
        pagination = {}
    if not isinstance(pagination, dict):
        raise _wrong_type("a page whose pagination is", pagination, "an object")
    next_cursor = pagination.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise _wrong_type("a page whose next_cursor is", next_cursor, "a string")
    total = pagination.get("total_count")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)
                              or total < 0):
        raise _wrong_type("a page whose total_count is", total, "a whole number")
    return page["items"], next_cursor or None, total
