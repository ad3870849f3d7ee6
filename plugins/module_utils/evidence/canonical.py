# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical bytes of an entry: one JSON spelling per value, and the CSV cells.

Each entry becomes one canonical JSON line (sorted keys, compact separators, UTF-8) and, when
asked, one CSV row, so the same entries always give the same bytes. CSV text cells that a
spreadsheet would run as a formula are neutralised; the JSONL is exact. Plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The CSV columns: every field of the contract's AuditLog, nested objects flattened with a dot.
# Fields the contract does not know go, as one canonical JSON object, into ``extra``; the JSONL
# file is the authoritative copy, the CSV the one a spreadsheet opens.
CSV_COLUMNS = (
    "id", "created_at", "action",
    "actor.id", "actor.name", "actor.type",
    "target.id", "target.type",
    "method", "path", "status_code", "client_ip", "user_agent",
    "extra",
)
_TOP_FIELDS = ("id", "created_at", "action", "method", "path", "status_code", "client_ip",
               "user_agent")
_NESTED_FIELDS = {"actor": ("id", "name", "type"), "target": ("id", "type")}


# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _c_encoder():
    """The C encoder that ``_ENCODER.encode`` builds on every call (the same arguments, so the
    same bytes), built once: the export encodes every entry. Without its circular-reference
    markers (values come from JSON: no cycles; one would end in RecursionError). None where
    the C accelerator is missing."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        return make(None, _ENCODER.default, json.encoder.encode_basestring, None,
                    _ENCODER.key_separator, _ENCODER.item_separator, True, False, True)
    except TypeError:  # another signature: keep the public path
        return None


_C_ENCODER = _c_encoder()


def canonical_json(value):
    """Compact JSON text with sorted keys: one value, one spelling."""
    if _C_ENCODER is not None and isinstance(value, (dict, list)):
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)


def canonical_line(entry):
    """The bytes of one JSONL line for an entry, newline included."""
    return (canonical_json(entry) + "\n").encode("utf-8")


# A spreadsheet runs a cell that begins with one of these as a formula (OWASP, "CSV
# Injection"): such a text cell gets a leading single quote, which the spreadsheet shows as
# text. Only text: a number the API types as a number (status_code -1) stays a number; the
# JSONL keeps every value exactly as the API sent it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text):
    """``text`` made inert for a spreadsheet: a leading ``'`` when it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    if isinstance(value, (int, float)):
        return str(value)
    return neutralise(str(value))


def csv_row(entry):
    """The CSV cells of an entry, in ``CSV_COLUMNS`` order.

    ``null`` and absent are both an empty cell (the JSONL keeps the difference). A nested
    object that is not an object (the contract says it always is) is kept whole in ``extra``.
    """
    extra = {}
    cells = {}
    for key, value in entry.items():
        if key in _TOP_FIELDS:
            cells[key] = _cell(value)
        elif key in _NESTED_FIELDS and (value is None or isinstance(value, dict)):
            for sub_key, sub_value in (value or {}).items():
                if sub_key in _NESTED_FIELDS[key]:
                    cells["%s.%s" % (key, sub_key)] = _cell(sub_value)
                else:
                    extra.setdefault(key, {})[sub_key] = sub_value
        else:
            extra[key] = value
    # Canonical JSON of an object starts with "{": never a formula.
    cells["extra"] = canonical_json(extra) if extra else ""
    return [cells.get(column, "") for column in CSV_COLUMNS]
