# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence report as one self-contained HTML page with an inline SVG chart (inline CSS,
no script, no external reference; its Content-Security-Policy forbids loading anything, so the
page works offline and cannot call home).

Every value from the audit log (names, paths, user agents) is attacker-controlled text, so
each is HTML-escaped. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from html import escape as _html_escape

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.context import (
    actor_label, new_ip_intro, notes, reveal, section_lines, summary_rows, utc, width_text)


def h(value):
    """HTML-escaped text of any value, hidden characters shown escaped."""
    return _html_escape(reveal(u"" if value is None else u"%s" % (value,)), quote=True)


def _bucket_label(micros, bucket_seconds, multi_day):
    when = utc(micros)
    if bucket_seconds >= 86400:
        return when.strftime("%Y-%m-%d")
    if multi_day:
        return when.strftime("%m-%d %H:%M")
    return when.strftime("%H:%M")


def _axis(peak, ticks=4):
    """(top, step) of a y axis: whole-number steps of 1, 2 or 5 times a power of ten."""
    rough = max(1.0, peak / float(ticks))
    power = 10 ** int(math.floor(math.log10(rough)))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return max(step, int(math.ceil(peak / float(step))) * step), step


_CSS = u"""
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;
margin:0;background:#f6f7f9}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:.2em 0 .6em}h2{font-size:1.2em;margin:1.6em 0 .5em;
border-bottom:1px solid #d8dce3;padding-bottom:.2em}
table{border-collapse:collapse;min-width:45%;background:#fff;margin:.4em 0 1em;font-size:.92em}
table.wide,table.summary{width:100%}
th,td{border:1px solid #d8dce3;padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}
th{background:#eef0f4;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.summary th{width:11em}
table.calls{font-size:.84em}table.calls td:first-child{white-space:nowrap}
table.calls td{word-break:break-all}
.bad{color:#a4161a;font-weight:600}.good{color:#1b6b2f;font-weight:600}
.warn{background:#fde2e1;border:1px solid #a4161a;padding:8px 12px}
.note{color:#555;font-size:.92em}
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;
vertical-align:-.1em}
svg{background:#fff;border:1px solid #d8dce3;max-width:100%;height:auto}
code{font-size:.9em}
"""
_OK_COLOUR = u"#4c78a8"
_FAIL_COLOUR = u"#e45756"


def render_svg(chart):
    """The activity chart: one stacked bar per bucket (successful, failed)."""
    buckets = chart["buckets"]
    count = max(1, len(buckets))
    width, height = 960, 280
    left, right, top, bottom = 56, 36, 12, 32
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, tick = _axis(max([b[0] for b in buckets] or [0]))
    bar_w = float(plot_w) / count
    gap = 1.0 if bar_w > 4 else 0.0
    step = chart["bucket_seconds"] * 1000000
    span_days = (count * chart["bucket_seconds"]) > 86400
    parts = [u'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d"'
             u' role="img" aria-label="Calls per %s over the window, failed calls in red">'
             % (width, height, width, height, h(width_text(chart["bucket_seconds"])))]
    for value in range(0, peak + 1, tick):
        y = top + plot_h - plot_h * value / float(peak)
        label = u"%d" % value
        parts.append(u'<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e6eb"/>'
                     % (left, y, left + plot_w, y))
        parts.append(u'<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">'
                     u'%s</text>' % (left - 6, y + 4, label))
    for index, (total, failed) in enumerate(buckets):
        x = left + index * bar_w
        start = chart["start"] + index * step
        title = u"%s to %s: %d calls, %d failed" % (
            utc(start).strftime("%Y-%m-%d %H:%M"), utc(start + step).strftime("%Y-%m-%d %H:%M"),
            total, failed)
        ok_h = plot_h * (total - failed) / float(peak)
        fail_h = plot_h * failed / float(peak)
        parts.append(u"<g><title>%s</title>" % h(title))
        if total - failed:
            parts.append(u'<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>'
                         % (x, top + plot_h - ok_h, max(bar_w - gap, 0.5), ok_h, _OK_COLOUR))
        if failed:
            parts.append(u'<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>'
                         % (x, top + plot_h - ok_h - fail_h, max(bar_w - gap, 0.5), fail_h,
                            _FAIL_COLOUR))
        parts.append(u"</g>")
    label_every = max(1, int(math.ceil(count / 6.0)))
    for index in range(0, count + 1, label_every):
        x = left + index * bar_w
        parts.append(u'<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888"/>'
                     % (x, top + plot_h, x, top + plot_h + 4))
        parts.append(u'<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">'
                     u'%s</text>' % (x, top + plot_h + 17, h(_bucket_label(
                         chart["start"] + index * step, chart["bucket_seconds"], span_days))))
    parts.append(u'<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>'
                 % (left, top + plot_h, left + plot_w, top + plot_h))
    parts.append(u"</svg>")
    return u"".join(parts)


def _html_table(headers, rows, numeric=(), css=None):
    out = [u"<table%s><thead><tr>%s</tr></thead><tbody>"
           % (u' class="%s"' % css if css else u"",
              u"".join(u"<th>%s</th>" % h(x) for x in headers))]
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            cls = u' class="n"' if index in numeric else u""
            cells.append(u"<td%s>%s</td>" % (cls, h(cell)))
        out.append(u"<tr>%s</tr>" % u"".join(cells))
    if not rows:
        out.append(u'<tr><td colspan="%d" class="note">none</td></tr>' % len(headers))
    out.append(u"</tbody></table>")
    return u"".join(out)


def _calls_html(calls):
    return _html_table(
        [u"Time", u"Actor", u"Action", u"Request", u"Status", u"Target", u"Client IP"],
        [[c["created_at"], c["actor"], c["action"], u"%s %s" % (c["method"], c["path"]),
          c["status_code"], c["target"], c["client_ip"]] for c in calls], numeric=(4,),
        css="wide calls")


def _first_calls_html(what, calls):
    return [u"<p>The first %d %s in the bundle's order:</p>" % (len(calls), what),
            _calls_html(calls)]


def _html_head(figures, ctx):
    out = [u"<!DOCTYPE html>", u'<html lang="en"><head><meta charset="utf-8">',
           u'<meta name="viewport" content="width=device-width, initial-scale=1">',
           u'<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
           u' style-src \'unsafe-inline\'; img-src data:">',
           u"<title>%s</title><style>%s</style></head><body><main>" % (h(ctx.title), _CSS),
           u"<h1>%s</h1>" % h(ctx.title)]
    if not ctx.verified:
        out.append(u'<p class="warn">This bundle failed verification; its figures cannot be'
                   u' trusted: %s</p>' % h(u"; ".join(ctx.problems)))
    out.append(u'<table class="summary"><tbody>')
    for label, text in summary_rows(figures, ctx):
        cls = u""
        if label == "Completeness":
            status = (ctx.manifest.get("completeness") or {}).get("status")
            cls = u' class="good"' if status == "complete" else (
                u' class="bad"' if status in ("mismatch", "truncated") else u"")
        elif label == "Bundle verified":
            cls = u' class="good"' if ctx.verified else u' class="bad"'
        elif label == "Final":
            cls = u"" if (ctx.manifest.get("finality") or {}).get("final") else u' class="bad"'
        out.append(u"<tr><th>%s</th><td%s>%s</td></tr>" % (h(label), cls, h(text)))
    out.append(u"</tbody></table>")
    for note in notes(figures, ctx):
        out.append(u'<p class="note">%s</p>' % h(note))
    return out


def _html_activity(figures, ctx):
    out = []
    chart = figures["chart"]
    out.append(u"<h2>Activity over the window</h2>")
    out.append(u'<p class="legend">Calls per %s, UTC.<span style="background:%s"></span>'
               u'successful<span style="background:%s"></span>failed (4xx/5xx)</p>'
               % (h(width_text(chart["bucket_seconds"])), _OK_COLOUR, _FAIL_COLOUR))
    out.append(render_svg(chart))
    return out


def _html_tables(figures, ctx):
    out = [u"<h2>Top actors</h2><p>%d distinct actors.</p>" % figures["actor_count"]]
    out.append(_html_table([u"Actor", u"Type", u"Calls", u"Failed", u"First", u"Last"],
                           [[actor_label(a), a["type"], a["calls"], a["failures"], a["first"],
                             a["last"]] for a in figures["actors"]], numeric=(2, 3),
                           css="wide"))
    out.append(u"<h2>Actions</h2><p>%d distinct actions.</p>" % figures["action_count"])
    out.append(_html_table([u"Action", u"Calls", u"Failed"],
                           [list(a) for a in figures["actions"]], numeric=(1, 2)))
    out.append(u"<h2>Target types</h2>")
    out.append(_html_table([u"Target type", u"Calls", u"Failed"],
                           [list(t) for t in figures["target_types"]], numeric=(1, 2)))
    return out


def _html_failures(figures, ctx):
    out = [u"<h2>Failed calls (4xx and 5xx)</h2><p>%d failed calls.</p>" % figures["failures"]]
    if figures["failures"]:
        out.append(_html_table([u"Status", u"Calls"],
                               [[k if k >= 0 else "(none)", n] for k, n in figures["statuses"]],
                               numeric=(1,)))
        out.append(u"<p>Actors with the most failures:</p>")
        out.append(_html_table([u"Actor", u"Type", u"Failed", u"Calls"],
                               [[actor_label(a), a["type"], a["failures"], a["calls"]]
                                for a in figures["failing_actors"]], numeric=(2, 3),
                               css="wide"))
        out += _first_calls_html(u"failed calls", figures["failed_calls"])
    return out


def _html_api_keys(figures, ctx):
    out = [u"<h2>API-key activity</h2><p>%d calls by %d API keys.</p>"
           % (figures["api_key_calls"], len(figures["api_keys"]))]
    out.append(_html_table(
        [u"API key", u"Calls", u"Failed", u"Client IPs", u"Top actions", u"First", u"Last"],
        [[actor_label(k), k["calls"], k["failures"],
          u", ".join(k["ips"]) + (u", ..." if k["ips_more"] else u""),
          u", ".join(u"%s (%d)" % a for a in k["top_actions"]), k["first"], k["last"]]
         for k in figures["api_keys"]], numeric=(1, 2), css="wide"))
    return out


def _html_deletions(figures, ctx):
    out = [u"<h2>Deletions</h2><p>%d deletions, %d failed deletion attempts (refused by the"
           u" API, so nothing was deleted; listed with the failed calls).</p>"
           % (figures["deletions"], figures["failed_deletions"])]
    if figures["deletions"]:
        out.append(_html_table([u"Target type", u"Deletions"],
                               [list(d) for d in figures["deletion_types"]], numeric=(1,)))
        out.append(_html_table([u"Actor", u"Deletions"],
                               [list(d) for d in figures["deletion_actors"]], numeric=(1,)))
        out += _first_calls_html(u"deletions", figures["deletion_calls"])
    return out


def _html_new_ips(figures, ctx):
    out = [u"<h2>Client IPs seen for the first time</h2><p>%s</p><p>%d of %d addresses.</p>"
           % (h(new_ip_intro(figures, ctx)), len(figures["new_ips"]), figures["ip_count"])]
    shown = figures["new_ips"][:figures["list_limit"]]
    out.append(_html_table(
        [u"Client IP", u"First call", u"Last call", u"Calls", u"Failed", u"Actors"],
        [[i["ip"], i["first"], i["last"], i["calls"], i["failures"],
          u", ".join(i["actors"]) + (u", ..." if i["actors_more"] else u"")] for i in shown],
        numeric=(3, 4), css="wide"))
    if len(figures["new_ips"]) > len(shown):
        out.append(u'<p class="note">... and %d more.</p>'
                   % (len(figures["new_ips"]) - len(shown)))
    return out


def render_html(figures, ctx):
    out = section_lines((_html_head, _html_activity, _html_tables, _html_failures,
                         _html_api_keys, _html_deletions, _html_new_ips), figures, ctx)
    out.append(u'<p class="note">Generated by nirvana_labs.audit from the bundle whose manifest'
               u' has SHA-256 <code>%s</code>. The JSONL file in the bundle is the evidence;'
               u' this page is a summary of it.</p>' % h(ctx.manifest_sha256))
    out.append(u"</main></body></html>")
    return u"\n".join(out) + u"\n"
