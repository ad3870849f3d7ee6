# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report figures (one streaming pass) and their rendering: right counts, capped memory,
hostile text escaped, no network reference, same bytes every time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.canonical import (
    canonical_line,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report import (
    aggregate as rep,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.context import (
    Context,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.html import (
    render_html,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.markdown import (
    render_markdown,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import instant_micros

START = instant_micros("2026-11-01T00:00:00Z")
END = instant_micros("2026-11-02T00:00:00Z")


def entry(i, created, actor=("user", "u1", "Ann"), action="vm.read", status=200, ip="192.0.2.1",
          method="GET", target=("vm", "t1")):
    data = {"id": "id-%04d" % i, "created_at": created, "action": action,
            "actor": {"type": actor[0], "id": actor[1], "name": actor[2]}, "status_code": status,
            "client_ip": ip, "method": method, "path": "/v1/compute/vms", "user_agent": "ua"}
    if target is not None:
        data["target"] = {"type": target[0], "id": target[1]}
    return data


KEY = ("api_key", "k1", None)
SAMPLE = [
    entry(1, "2026-11-01T00:10:00Z"),
    entry(2, "2026-11-01T00:20:00Z", status=404),
    entry(3, "2026-11-01T05:00:00Z", actor=KEY, action="vm.deleted", method="DELETE",
          ip="198.51.100.7", status=204),
    entry(4, "2026-11-01T05:01:00Z", actor=KEY, action="api_key.created", method="POST",
          ip="2001:db8::1", status=500, target=None),
    entry(5, "2026-11-01T23:59:59Z", actor=("user", "u2", "Bob"), action="volume.delete",
          method="POST", target=("volume", "v1")),
]


def figures(entries=None, **kwargs):
    agg = rep.Aggregator(START, END, **kwargs)
    for item in SAMPLE if entries is None else entries:
        agg.add(item)
    return agg.figures()


class TestFigures:

    def test_a_refused_deletion_is_a_failed_attempt_not_a_deletion(self):
        refused = entry(6, "2026-11-01T06:00:00Z", action="vm.deleted", method="DELETE",
                        status=403)
        fig = figures(SAMPLE + [refused])
        assert fig["deletions"] == 2 and fig["failed_deletions"] == 1
        assert "id-0006" not in [call["id"] for call in fig["deletion_calls"]]
        text = render_markdown(fig, context())
        assert u"2 deletions, 1 failed deletion attempts (refused by the API" in text
        assert u"1 failed deletion attempts (refused by the API" in render_html(fig, context())

    def test_totals_failures_deletions_and_api_keys(self):
        fig = figures()
        assert fig["entries"] == 5 and fig["failures"] == 2
        assert fig["deletions"] == 2  # a DELETE, and a verb that deletes
        assert fig["failed_deletions"] == 0
        assert fig["api_key_calls"] == 2
        key = fig["api_keys"][0]
        assert (key["id"], key["calls"], key["failures"]) == ("k1", 2, 1)
        assert key["ips"] == ["198.51.100.7", "2001:db8::1"]
        assert fig["statuses"] == [(404, 1), (500, 1)]

    def test_actors_ranked_by_calls_then_key(self):
        fig = figures()
        assert [(a["id"], a["calls"]) for a in fig["actors"]] == [
            ("k1", 2), ("u1", 2), ("u2", 1)]
        assert fig["actors"][1]["first"] == "2026-11-01T00:10:00Z"
        assert fig["actors"][1]["last"] == "2026-11-01T00:20:00Z"

    def test_target_types_count_missing_targets(self):
        assert dict((k, n) for k, n, _f in figures()["target_types"]) == {
            "vm": 3, "(none)": 1, "volume": 1}

    def test_chart_buckets_cover_the_window(self):
        fig = figures()
        chart = fig["chart"]
        assert chart["bucket_seconds"] == 900  # 24 h in at most 120 bars
        assert sum(b[0] for b in chart["buckets"]) == 5
        assert sum(b[1] for b in chart["buckets"]) == 2
        assert chart["buckets"][0] == [1, 0] and chart["buckets"][1] == [1, 1]
        assert chart["buckets"][-1] == [1, 0]

    def test_new_ips_without_and_with_a_baseline(self):
        assert [i["ip"] for i in figures()["new_ips"]] == [
            "192.0.2.1", "198.51.100.7", "2001:db8::1"]  # by first call
        fig = figures(baseline_ips={"192.0.2.1", "2001:db8::1"})
        assert [i["ip"] for i in fig["new_ips"]] == ["198.51.100.7"]
        assert fig["baseline"] is True

    def test_distinct_keys_are_capped_and_the_excess_counted(self):
        many = [entry(i, "2026-11-01T01:00:00Z", actor=("user", "u%d" % i, None),
                      ip="10.0.%d.%d" % (i // 250, i % 250)) for i in range(50)]
        fig = figures(many, max_keys=10)
        assert fig["entries"] == 50 and fig["actor_count"] == 10
        assert fig["overflow"]["actors"] == 40 and fig["overflow"]["client_ips"] == 40

    def test_lists_are_bounded(self):
        failing = [entry(i, "2026-11-01T01:00:00Z", status=500) for i in range(30)]
        fig = figures(failing, list_limit=5)
        assert fig["failures"] == 30 and len(fig["failed_calls"]) == 5

    @pytest.mark.parametrize("hours,seconds", [(1, 60), (24, 900), (24 * 7, 2 * 3600),
                                               (24 * 31, 7 * 3600), (24 * 366, 7 * 86400)])
    def test_bucket_width_keeps_at_most_120_bars(self, hours, seconds):
        width = rep.choose_bucket(0, hours * 3600 * 1000000)
        assert width >= seconds - 1 and hours * 3600 / width <= rep.MAX_BUCKETS

    def test_aggregate_and_time_bounds_read_a_file(self, tmp_path):
        path = tmp_path / "a.jsonl"
        path.write_bytes(b"".join(canonical_line(e) for e in SAMPLE))
        agg = rep.aggregate(str(path), rep.Aggregator(START, END))
        assert agg.entries == 5
        assert rep.time_bounds(str(path)) == (instant_micros("2026-11-01T00:10:00Z"),
                                              instant_micros("2026-11-01T23:59:59Z"))

    def test_a_line_that_is_not_an_object_is_an_error_with_its_number(self, tmp_path):
        path = tmp_path / "a.jsonl"
        path.write_bytes(canonical_line(SAMPLE[0]) + b"[1]\n")
        with pytest.raises(ValueError) as err:
            rep.aggregate(str(path), rep.Aggregator(START, END))
        assert "line 2" in str(err.value)


HOSTILE = entry(9, "2026-11-01T02:00:00Z",
                actor=("user", "u9", "<script>alert(1)</script> | *x* [a](http://evil)"),
                action="vm.deleted", method="DELETE", status=403, ip="203.0.113.9")
MANIFEST = {"window": {"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"},
            "completeness": {"status": "mismatch", "reason": "the server's total_count is 7"},
            "finality": {"final": True, "reason": "ended"},
            "query": {"action": ["vm.*"], "since": "2026-11-01"},
            "api": {"base_url": "http://127.0.0.1:9"}, "collection": {"version": "0.1.0"},
            "run": {"started_at": "a", "finished_at": "b", "by": "me@here"}}


def context(verified=True):
    return Context(MANIFEST, "ab" * 32, verified, [] if verified else ["x is altered"])


class TestHtml:

    def html(self, verified=True):
        return render_html(figures(SAMPLE + [HOSTILE]), context(verified))

    def test_hostile_text_is_escaped(self):
        page = self.html()
        assert "<script" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    def test_self_contained_no_script_no_external_reference(self):
        page = self.html()
        assert "Content-Security-Policy" in page and "default-src 'none'" in page
        assert not re.search(r"<(script|link|img|iframe)\b", page)
        assert not re.search(r"\b(src|href)\s*=", page)
        assert "url(" not in page
        # The SVG namespace is the only URL in markup; the others are data shown as text.
        assert page.count('xmlns="http://www.w3.org/2000/svg"') == 1

    def test_sections_the_issue_asks_for(self):
        page = self.html()
        for title in ("Activity over the window", "Top actors", "Actions", "Target types",
                      "Failed calls (4xx and 5xx)", "API-key activity", "Deletions",
                      "Client IPs seen for the first time"):
            assert "<h2>%s</h2>" % title in page
        assert "<svg" in page and page.count("<rect") >= 4

    def test_mismatch_and_failed_verification_are_loud(self):
        page = self.html(verified=False)
        assert 'class="warn"' in page and "x is altered" in page
        assert '<td class="bad">mismatch' in page

    def test_same_input_same_bytes(self):
        assert self.html() == self.html()


class TestMarkdown:

    def markdown(self):
        return render_markdown(figures(SAMPLE + [HOSTILE]), context())

    def test_table_cells_cannot_be_split_or_turned_into_links(self):
        text = self.markdown()
        row = [line for line in text.splitlines() if "alert(1)" in line][0]
        # Every pipe of the hostile name is escaped, so the row keeps its column count.
        assert row.count("|") - row.count("\\|") == 7
        assert "\\[a\\]" in row and "\\<script>" in row and "\\*x\\*" in row

    def test_summary_and_sections(self):
        text = self.markdown()
        assert text.startswith("# Audit evidence, 2026-11-01T00:00:00Z to 2026-11-02T00:00:00Z")
        assert "mismatch: the server's total\\_count is 7" in text
        assert "action = vm.\\*" in text
        assert "## Client IPs seen for the first time" in text
        assert "No baseline bundle was given" in text


def test_report_figures_are_json_serialisable():
    json.dumps(figures())
