# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry overrides: hostile or unusual values served in chosen generated entries.

A JSONL file, one object a line: ``{"index": 3, "user_agent": "=HYPERLINK(...)", "actor":
{"name": "admin\\u202egnp.exe"}}``. ``index`` is the entry's place in the default order (0 =
newest); every other key replaces that field of the served entry, and ``actor`` / ``target``
objects are merged into the generated ones. ``id`` and ``created_at`` cannot be overridden
(they place the entry). Overrides change what is served (lists, get by id, ground truth), not
what the server-side filters compare: filter on fields you did not override.
"""

import json

FIXED = ("id", "created_at")
MERGED = ("actor", "target")


def load(path, size):
    """``{index: fields}`` from the JSONL file ``path``; ValueError names the bad line."""
    overrides = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as err:
                raise ValueError("%s line %d: not JSON: %s" % (path, number, err))
            index = item.pop("index", None) if isinstance(item, dict) else None
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
                raise ValueError("%s line %d: needs an \"index\" from 0 to %d"
                                 % (path, number, size - 1))
            fixed = sorted(set(item) & set(FIXED))
            if fixed:
                raise ValueError("%s line %d: %s cannot be overridden"
                                 % (path, number, ", ".join(fixed)))
            overrides.setdefault(index, {}).update(item)
    return overrides


def apply(entry, fields):
    """``entry`` with ``fields`` applied (in place); returns it."""
    for key, value in fields.items():
        if key in MERGED and isinstance(value, dict) and isinstance(entry.get(key), dict):
            entry[key].update(value)
        else:
            entry[key] = value
    return entry
