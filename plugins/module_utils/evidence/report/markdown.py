# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence report in Markdown, for a review in a terminal or a merge request.

Names, paths and user agents come from the audit log and are attacker-controlled, so each is
escaped for Markdown before it lands in a table cell. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.context import (
    actor_label, new_ip_intro, notes, reveal, section_lines, summary_rows, utc, width_text)

_SPARKS = u"▁▂▃▄▅▆▇█"
# Characters that change meaning in a Markdown table cell: pipes end the cell, the rest make
# emphasis, code, links or raw HTML. Parentheses only matter after "]", which is escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<~])")


def md(value):
    """Markdown-escaped, single-line text of any value (safe inside a table cell), hidden
    characters shown escaped."""
    text = reveal(u"" if value is None else u"%s" % (value,))
    text = u" ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_table(headers, rows):
    lines = [u"| %s |" % u" | ".join(headers), u"|%s|" % u"|".join([u"---"] * len(headers))]
    for row in rows:
        lines.append(u"| %s |" % u" | ".join(row))
    return lines


def _sparkline(buckets):
    peak = max([b[0] for b in buckets] or [0])
    if not peak:
        return _SPARKS[0] * len(buckets)
    return u"".join(_SPARKS[min(7, int(b[0] * 7.999 / peak))] if b[0] else u" "
                    for b in buckets)


def _calls_md(calls):
    return _md_table(
        [u"Time", u"Actor", u"Action", u"Request", u"Status", u"Target", u"Client IP"],
        [[md(c["created_at"]), md(c["actor"]), md(c["action"]),
          md(u"%s %s" % (c["method"], c["path"])), md(c["status_code"]), md(c["target"]),
          md(c["client_ip"])] for c in calls])


def _md_summary(figures, ctx):
    out = [u"# %s" % md(ctx.title), u""]
    if not ctx.verified:
        out += [u"> **Warning: this bundle failed verification; its figures cannot be trusted.**",
                u""]
    out += _md_table([u"", u""], [[u"**%s**" % label, md(text)]
                                  for label, text in summary_rows(figures, ctx)])
    for note in notes(figures, ctx):
        out += [u"", u"> %s" % md(note)]
    return out


def _md_activity(figures, ctx):
    out = []
    chart = figures["chart"]
    buckets = chart["buckets"]
    peak_index = max(range(len(buckets)), key=lambda i: (buckets[i][0], -i)) if buckets else 0
    out += [u"", u"## Activity over the window", u"",
            u"One character per %s, from %s: the taller, the more calls (the HTML report has"
            u" the chart)." % (width_text(chart["bucket_seconds"]),
                               md(utc(chart["start"]).strftime("%Y-%m-%dT%H:%M:%SZ"))),
            u"", u"```", _sparkline(buckets), u"```", u""]
    if buckets and buckets[peak_index][0]:
        start = chart["start"] + peak_index * chart["bucket_seconds"] * 1000000
        out.append(u"Busiest %s: from %s, %d calls (%d failed)." % (
            width_text(chart["bucket_seconds"]),
            md(utc(start).strftime("%Y-%m-%dT%H:%M:%SZ")),
            buckets[peak_index][0], buckets[peak_index][1]))
    return out


def _md_tables(figures, ctx):
    out = [u"", u"## Top actors", u"", u"%d distinct actors." % figures["actor_count"], u""]
    out += _md_table([u"Actor", u"Type", u"Calls", u"Failed", u"First", u"Last"],
                     [[md(actor_label(a)), md(a["type"]), str(a["calls"]), str(a["failures"]),
                       md(a["first"]), md(a["last"])] for a in figures["actors"]])

    out += [u"", u"## Actions", u"", u"%d distinct actions." % figures["action_count"], u""]
    out += _md_table([u"Action", u"Calls", u"Failed"],
                     [[md(k), str(n), str(f)] for k, n, f in figures["actions"]])

    out += [u"", u"## Target types", u""]
    out += _md_table([u"Target type", u"Calls", u"Failed"],
                     [[md(k), str(n), str(f)] for k, n, f in figures["target_types"]])
    return out


def _md_failures(figures, ctx):
    out = [u"", u"## Failed calls (4xx and 5xx)", u"",
           u"%d failed calls." % figures["failures"], u""]
    if figures["failures"]:
        out += _md_table([u"Status", u"Calls"],
                         [[md(k if k >= 0 else "(none)"), str(n)] for k, n in figures["statuses"]])
        out += [u"", u"Actors with the most failures:", u""]
        out += _md_table([u"Actor", u"Type", u"Failed", u"Calls"],
                         [[md(actor_label(a)), md(a["type"]), str(a["failures"]),
                           str(a["calls"])] for a in figures["failing_actors"]])
        out += [u"", u"The first %d failed calls in the bundle's order:"
                % len(figures["failed_calls"]), u""]
        out += _calls_md(figures["failed_calls"])
    return out


def _md_api_keys(figures, ctx):
    out = [u"", u"## API-key activity", u"",
           u"%d calls by %d API keys." % (figures["api_key_calls"], len(figures["api_keys"])),
           u""]
    out += _md_table([u"API key", u"Calls", u"Failed", u"Client IPs", u"Top actions", u"First",
                      u"Last"],
                     [[md(actor_label(k)), str(k["calls"]), str(k["failures"]),
                       md(u", ".join(k["ips"]) + (u", ..." if k["ips_more"] else u"")),
                       md(u", ".join(u"%s (%d)" % a for a in k["top_actions"])),
                       md(k["first"]), md(k["last"])] for k in figures["api_keys"]])
    return out


def _md_deletions(figures, ctx):
    out = [u"", u"## Deletions", u"", u"%d deletions, %d failed deletion attempts (refused by"
           u" the API, so nothing was deleted; listed with the failed calls)."
           % (figures["deletions"], figures["failed_deletions"]), u""]
    if figures["deletions"]:
        out += _md_table([u"Target type", u"Deletions"],
                         [[md(k), str(n)] for k, n in figures["deletion_types"]])
        out += [u""]
        out += _md_table([u"Actor", u"Deletions"],
                         [[md(k), str(n)] for k, n in figures["deletion_actors"]])
        out += [u"", u"The first %d deletions in the bundle's order:"
                % len(figures["deletion_calls"]), u""]
        out += _calls_md(figures["deletion_calls"])
    return out


def _md_new_ips(figures, ctx):
    out = [u"", u"## Client IPs seen for the first time", u"", md(new_ip_intro(figures, ctx)),
           u"", u"%d of %d addresses." % (len(figures["new_ips"]), figures["ip_count"]), u""]
    shown = figures["new_ips"][:figures["list_limit"]]
    out += _md_table([u"Client IP", u"First call", u"Last call", u"Calls", u"Failed",
                      u"Actors"],
                     [[md(i["ip"]), md(i["first"]), md(i["last"]), str(i["calls"]),
                       str(i["failures"]),
                       md(u", ".join(i["actors"]) + (u", ..." if i["actors_more"] else u""))]
                      for i in shown])
    if len(figures["new_ips"]) > len(shown):
        out += [u"", u"... and %d more." % (len(figures["new_ips"]) - len(shown))]
    return out


def render_markdown(figures, ctx):
    out = section_lines((_md_summary, _md_activity, _md_tables, _md_failures, _md_api_keys,
                         _md_deletions, _md_new_ips), figures, ctx)
    out.append(u"")
    return u"\n".join(out)
