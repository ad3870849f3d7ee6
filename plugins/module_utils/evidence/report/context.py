# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What both report formats show besides the figures: the manifest, the verification, and
the summary rows and notes drawn from them. The output depends only on its inputs: no clock,
no randomness, so the same bundle gives the same bytes. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import unicodedata

from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import EPOCH

# Filters shown in the summary, in this order.
_FILTER_NAMES = ("action", "actor_id", "actor_name", "actor_type", "target_id", "target_type",
                 "method", "path", "client_ip", "status_code", "max_results")


# Characters that change how text displays without showing themselves: bidirectional
# controls (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C), zero-width and other format
# characters (U+200B-U+200D, U+2060, U+FEFF: all category Cf), control characters, line and
# paragraph separators, and the blank "filler" letters.
_HIDDEN_CATEGORIES = ("Cf", "Cc", "Zl", "Zp", "Co", "Cs", "Cn")
_FILLERS = (u"\u115f", u"\u1160", u"\u3164", u"\uffa0")
_PLAIN_WHITESPACE = (u"\t", u"\n", u"\r")


def _escape_char(char):
    code = ord(char)
    return u"\\u%04x" % code if code <= 0xFFFF else u"\\U%08x" % code


def reveal(text):
    """``text`` with every invisible or direction-changing character shown as ``\\uXXXX``.

    ``admin\\u202egnp.exe`` and ``vm.deleted\\u200b`` then read as what they are. A backslash
    is doubled, so a literal ``\\u200b`` typed into a field cannot pass for an escape. Tab,
    newline and carriage return are left to the renderers (whitespace in a cell).
    """
    out = []
    for char in text:
        if char == u"\\":
            out.append(u"\\\\")
        elif char in _PLAIN_WHITESPACE or char.isascii() and char.isprintable():
            out.append(char)
        elif char in _FILLERS or unicodedata.category(char) in _HIDDEN_CATEGORIES:
            out.append(_escape_char(char))
        else:
            out.append(char)
    return u"".join(out)


def utc(micros):
    return EPOCH + datetime.timedelta(microseconds=micros)


def yes_no(value):
    return {True: "yes", False: "no"}.get(value, "unknown")


def describe_filters(query):
    parts = []
    for name in _FILTER_NAMES:
        value = (query or {}).get(name)
        if value in (None, [], ""):
            continue
        if isinstance(value, list):
            value = ", ".join(u"%s" % v for v in value)
        parts.append(u"%s = %s" % (name, value))
    return parts


def width_text(seconds):
    for unit, size, name in (("w", 604800, "week"), ("d", 86400, "day"), ("h", 3600, "hour"),
                             ("m", 60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return "%d %s%s" % (count, name, "" if count == 1 else "s")
    return "%d seconds" % seconds


class Context(object):
    """Everything a report shows besides the figures: the manifest and the verification."""

    def __init__(self, manifest, manifest_sha256, verified, problems, title=None,
                 baseline=None, baseline_partial=False):
        self.manifest = manifest or {}
        self.manifest_sha256 = manifest_sha256
        self.verified = verified
        self.problems = problems or []
        window = self.manifest.get("window") or {}
        self.since = window.get("since")
        self.until = window.get("until")
        self.title = title or u"Audit evidence, %s to %s" % (
            self.since or "the beginning", self.until or "now")
        self.baseline = baseline or []
        self.baseline_partial = baseline_partial


def summary_rows(figures, ctx):
    """(label, text) rows of the summary table, shared by both formats (plain text)."""
    man = ctx.manifest
    comp = man.get("completeness") or {}
    fin = man.get("finality") or {}
    run = man.get("run") or {}
    prev = man.get("previous")
    rows = [
        ("Window", u"%s (inclusive) to %s (exclusive), UTC"
         % (ctx.since or "unbounded", ctx.until or "unbounded")),
        ("Filters", u"; ".join(describe_filters(man.get("query"))) or "none"),
        ("Entries", u"%d (%d failed calls, %d deletions, %d failed deletion attempts, %d by API"
                    u" keys)"
         % (figures["entries"], figures["failures"], figures["deletions"],
            figures["failed_deletions"], figures["api_key_calls"])),
        ("Completeness", u"%s: %s" % (comp.get("status", "unknown"), comp.get("reason", ""))),
        ("Final", u"%s: %s" % (yes_no(fin.get("final")), fin.get("reason", ""))),
        ("Bundle verified", u"yes, every file matches SHA256SUMS" if ctx.verified
         else u"NO: " + u"; ".join(ctx.problems)),
        ("Manifest SHA-256", ctx.manifest_sha256 or "unknown"),
        ("Source", u"%s, collection %s" % ((man.get("api") or {}).get("base_url"),
                                           (man.get("collection") or {}).get("version"))),
        ("Exported", u"%s to %s by %s" % (run.get("started_at"), run.get("finished_at"),
                                          run.get("by"))),
    ]
    if prev:
        rows.append(("Previous bundle", u"manifest SHA-256 %s, window %s to %s, %s"
                     % (prev.get("manifest_sha256"), (prev.get("window") or {}).get("since"),
                        (prev.get("window") or {}).get("until"),
                        "contiguous" if prev.get("contiguous") else "NOT contiguous")))
        gap = prev.get("gap")
        if isinstance(gap, dict):
            rows.append(("Accepted gap", u"%s to %s is in no bundle of the chain (accepted at"
                                         u" export with allow_gap=true)"
                         % (gap.get("since"), gap.get("until"))))
    return rows


def actor_label(row):
    if row.get("name") and row["name"] != "(none)":
        return u"%s (%s)" % (row["name"], row["id"])
    return row["id"]


def notes(figures, ctx):
    notes = []
    if figures["overflow"]:
        notes.append(u"More distinct values than the report tracks (%s); the excess is counted"
                     u" in the totals but not listed." % ", ".join(
                         "%s: %d entries" % kv for kv in sorted(figures["overflow"].items())))
    if figures["untimed"]:
        notes.append(u"%d entries have no readable created_at and are not in the chart."
                     % figures["untimed"])
    if figures["chart"]["outside"]:
        notes.append(u"%d entries fall outside the window and are not in the chart."
                     % figures["chart"]["outside"])
    return notes


def new_ip_intro(figures, ctx):
    if not figures["baseline"]:
        return (u"No baseline bundle was given, so every address counts as first seen in this"
                u" window. Pass the previous period's bundle as the baseline to list only new"
                u" addresses.")
    text = (u"Client IPs seen in this window and in none of the baseline bundles (%s), by first"
            u" call." % u", ".join(ctx.baseline))
    if ctx.baseline_partial:
        text += u" The baseline held more addresses than the report tracks, so some listed"
        text += u" addresses may not be new."
    return text


def section_lines(sections, figures, ctx):
    """The lines of a report: each section, a function of (figures, ctx), in turn."""
    out = []
    for section in sections:
        out += section(figures, ctx)
    return out
