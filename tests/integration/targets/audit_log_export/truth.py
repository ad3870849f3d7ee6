#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ground truth for the export tests, independent of the collection's code.

    truth.py jsonl ADMIN_URL OUT --since S --until U [--param k=v]... [--union k=v1,v2]...
                   [--order newest_first|oldest_first]
        Writes what an export of that window and those filters must contain, canonical
        (sorted keys, compact, one entry per line), in canonical order. The entries come from
        the emulator's /_emulator/truth (server semantics, inclusive bounds); the window's end
        is made exclusive here. --union runs one truth query per value and merges them (a
        filter with several values is an OR; several --union make every combination).
        ``--union status_code=404-404,500-599`` takes ranges. --action-regex keeps the
        entries whose action matches (for glob filters the server cannot apply).

    truth.py csv CSV JSONL
        Checks that the CSV has the expected header and one row per JSONL entry, in the same
        order, every field flattened and equal, unknown fields in ``extra``.
"""

from __future__ import absolute_import, division, print_function

import argparse
import csv
import datetime
import io
import json
import re
import sys

try:
    from urllib.parse import urlencode
    from urllib.request import urlopen
except ImportError:  # pragma: no cover
    raise SystemExit("Python 3 is required")

COLUMNS = ["id", "created_at", "action", "actor.id", "actor.name", "actor.type", "target.id",
           "target.type", "method", "path", "status_code", "client_ip", "user_agent", "extra"]
KNOWN_TOP = {"id", "created_at", "action", "method", "path", "status_code", "client_ip",
             "user_agent"}
KNOWN_NESTED = {"actor": ("id", "name", "type"), "target": ("id", "type")}


def instant(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")


def as_params(key, value):
    """``status_code=500-599`` is the pair of bounds; any other key is one parameter."""
    if key == "status_code":
        low, high = value.split("-", 1)
        return {"status_code_min": low, "status_code_max": high}
    return {key: value}


def fetch(admin_url, params):
    with urlopen("%s/truth?%s" % (admin_url.rstrip("/"), urlencode(params)), timeout=60) as resp:
        return json.loads(resp.read().decode("utf-8"))["items"]


def cmd_jsonl(args):
    base = {"created_at_min": args.since, "created_at_max": args.until}
    for pair in args.param:
        key, value = pair.split("=", 1)
        base[key] = value
    queries = [base]
    for union in args.union:
        key, values = union.split("=", 1)
        queries = [dict(query, **as_params(key, value))
                   for query in queries for value in values.split(",")]
    by_id = {}
    for query in queries:
        for entry in fetch(args.admin_url, query):
            by_id[entry["id"]] = entry
    until = instant(args.until)
    kept = [e for e in by_id.values() if instant(e["created_at"]) < until]
    if args.action_regex:
        pattern = re.compile(args.action_regex)
        kept = [e for e in kept if pattern.search(e["action"])]
    kept.sort(key=lambda e: (instant(e["created_at"]), e["id"]),
              reverse=args.order == "newest_first")
    with io.open(args.out, "wb") as handle:
        for entry in kept:
            line = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            handle.write((line + "\n").encode("utf-8"))
    print("%d entries" % len(kept))


def cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cmd_csv(args):
    with io.open(args.csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with io.open(args.jsonl, encoding="utf-8") as handle:
        entries = [json.loads(line) for line in handle]
    problems = []
    if rows[0] != COLUMNS:
        problems.append("header is %r" % rows[0])
    if len(rows) - 1 != len(entries):
        problems.append("%d rows for %d entries" % (len(rows) - 1, len(entries)))
    for number, (row, entry) in enumerate(zip(rows[1:], entries), 2):
        cells = dict(zip(COLUMNS, row))
        expected = dict((k, cell(entry.get(k))) for k in KNOWN_TOP)
        extra = dict((k, v) for k, v in entry.items()
                     if k not in KNOWN_TOP and k not in KNOWN_NESTED)
        for parent, subs in KNOWN_NESTED.items():
            obj = entry.get(parent) or {}
            for sub in subs:
                expected["%s.%s" % (parent, sub)] = cell(obj.get(sub))
            more = dict((k, v) for k, v in obj.items() if k not in subs)
            if more:
                extra[parent] = more
        for key, value in expected.items():
            if cells.get(key) != value:
                problems.append("row %d %s: %r != %r" % (number, key, cells.get(key), value))
        if (json.loads(cells["extra"]) if cells["extra"] else {}) != extra:
            problems.append("row %d extra: %r != %r" % (number, cells["extra"], extra))
        if len(problems) > 20:
            break
    if problems:
        print("\n".join(problems))
        return 1
    print("%d rows match" % len(entries))
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    jsonl = sub.add_parser("jsonl")
    jsonl.add_argument("admin_url")
    jsonl.add_argument("out")
    jsonl.add_argument("--since", required=True)
    jsonl.add_argument("--until", required=True)
    jsonl.add_argument("--param", action="append", default=[])
    jsonl.add_argument("--union", action="append", default=[])
    jsonl.add_argument("--order", default="newest_first")
    jsonl.add_argument("--action-regex", help="keep only entries whose action matches")
    check = sub.add_parser("csv")
    check.add_argument("csv")
    check.add_argument("jsonl")
    args = parser.parse_args()
    if args.command == "jsonl":
        cmd_jsonl(args)
        return 0
    if args.command == "csv":
        return cmd_csv(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
