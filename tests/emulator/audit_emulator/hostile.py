# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hostile server's faults: compressed bodies (honest or bombs), oversized bodies, a slow
drip, and cursors that never end.

``plan`` turns such a rule into a ``Plan``; ``pieces`` cuts a streamed plan into the
(pause, bytes) writes the handler makes, so no fault ever holds its whole body in memory
(a 1 GiB oversized body is written 1 MiB at a time; a bomb is compressed once and cached).
"""

import functools
import zlib
from urllib.parse import parse_qs

MIB = 1 << 20
KINDS = ("gzip", "oversized", "drip", "endless_cursor")
# Plan actions the handler streams with ``pieces``.
STREAMED = ("pad", "drip")
ENDLESS_PREFIX = "endless."
# empty_page's cursor: the real cursor of the same offset behind this prefix, so it is new.
AGAIN_PREFIX = "again."


def _compressor(encoding):
    # gzip: a gzip header and trailer (wbits 16 + 15); deflate: the zlib format (RFC 9110).
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    return zlib.compressobj(9, zlib.DEFLATED, wbits)


@functools.lru_cache(maxsize=4)
def _padding(encoding, mib):
    """``mib`` MiB of spaces, compressed: (the bytes so far, the compressor's state)."""
    compressor = _compressor(encoding)
    block = b" " * MIB
    head = b"".join(compressor.compress(block) for dummy in range(mib))
    return head, compressor


def compress(body, encoding, bomb_mib=None):
    """``body`` compressed; a bomb first puts ``bomb_mib`` MiB of spaces (JSON whitespace)
    before it, so it decodes to valid JSON of that size plus the body."""
    if bomb_mib:
        head, state = _padding(encoding, bomb_mib)
        compressor = state.copy()
    else:
        head, compressor = b"", _compressor(encoding)
    return head + compressor.compress(body) + compressor.flush()


def plan(emulator, answer, rule, target, plan_answer, plan_cls):
    """The Plan for a hostile rule; ``plan_answer`` renders an Answer as a normal Plan."""
    kind, p = rule.kind, rule.params
    if kind == "endless_cursor":
        return plan_answer(_endless(emulator, answer, target))
    normal = plan_answer(answer)
    if kind == "gzip":
        normal.body = compress(normal.body, p["encoding"], p["bomb_mib"])
        normal.headers.append(("Content-Encoding", p["encoding"]))
        return normal
    if kind == "oversized":
        return plan_cls(normal.status, normal.headers, normal.body, "pad", p["mib"] * MIB)
    # drip
    return plan_cls(normal.status, normal.headers, normal.body, "drip",
                    (p["bytes_per_tick"], p["interval"]))


def _endless(emulator, answer, target):
    """The last page points to a fresh cursor; each fresh cursor gives one new entry and the
    next fresh cursor, for ever. total_count stays what the real list said (the lie)."""
    query = parse_qs(target.partition("?")[2])
    cursor = (query.get("cursor") or [""])[0]
    if cursor.startswith(ENDLESS_PREFIX):
        number, total = (int(part) for part in cursor[len(ENDLESS_PREFIX):].split(".", 1))
        entry = emulator.dataset.entry(emulator.dataset.size - 1)
        entry["id"] = "00000000-0000-4000-8000-%012d" % number
        answer.status, answer.page, answer.headers = 200, None, []
        answer.body = {"items": [entry], "pagination": {
            "next_cursor": "%s%d.%d" % (ENDLESS_PREFIX, number + 1, total),
            "previous_cursor": None, "total_count": total}}
        return answer
    if answer.kind == "list":
        pagination = answer.body["pagination"]
        pagination["next_cursor"] = "%s1.%d" % (ENDLESS_PREFIX, pagination["total_count"])
    return answer


def unwrap_cursor(query_string):
    """The query string with an empty_page cursor turned back into the real one."""
    if AGAIN_PREFIX not in query_string:
        return query_string
    return query_string.replace("cursor=" + AGAIN_PREFIX, "cursor=")


def pieces(head, plan):
    """(seconds to wait first, bytes) for each write of a streamed plan."""
    if plan.action == "pad":
        remaining = plan.amount
        yield 0, head
        while remaining > 0:
            size = min(MIB, remaining)
            yield 0, b" " * size
            remaining -= size
        yield 0, plan.body
        return
    per_tick, interval = plan.amount
    data = head + plan.body
    for start in range(0, len(data), per_tick):
        yield (interval if start else 0), data[start:start + per_tick]


def streamed_length(plan):
    return len(plan.body) + (plan.amount if plan.action == "pad" else 0)
