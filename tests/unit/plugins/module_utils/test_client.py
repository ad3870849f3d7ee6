# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AuditLogClient.read, the one read the adapters share, over a scan faked at its boundary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import MAX_PAGE_SIZE
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.fakes import FakeScan, scan_report

OLD = {"id": "o", "created_at": "2026-11-01T00:00:00Z"}
NEW = {"id": "n", "created_at": "2026-11-02T00:00:00Z"}


def read(entries, observed, **kwargs):
    client = AuditLogClient("nl-unit-key", base_url="http://127.0.0.1:1")
    scan = FakeScan(entries, scan_report(matched=len(entries), order={
        "requested": "newest_first", "sort_sent": "created_at:desc", "observed": observed}))
    with client:
        with mock.patch.object(client, "scan", return_value=scan) as fake:
            result = client.read(Query(), **kwargs)
    return result, fake


def test_entries_come_back_in_the_requested_order_with_the_finished_report():
    (entries, report), _fake = read([OLD, NEW], "oldest_first")
    assert entries == [NEW, OLD]
    assert report["matched"] == 2 and report["order"]["observed"] == "oldest_first"


def test_entries_the_server_ordered_are_kept_as_sent():
    (entries, _report), _fake = read([NEW, OLD], "newest_first")
    assert entries == [NEW, OLD]


def test_paging_arguments_reach_the_scan():
    _result, fake = read([], "unknown", page_size=20, max_results=5, cursor="nla1.x",
                         parallelism=4)
    # spill=False: a read keeps every entry in memory anyway, so slices need not go to disk.
    assert fake.call_args.kwargs == {"page_size": 20, "max_results": 5, "cursor": "nla1.x",
                                     "parallelism": 4, "spill": False,
                                     "max_pages": None, "deadline": None}
    _result, fake = read([], "unknown")
    assert fake.call_args.kwargs["page_size"] == MAX_PAGE_SIZE


def test_read_arguments_translate_the_read_settings_once():
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import read_arguments
    options = {"page_size": 50, "max_results": None, "parallelism": 4, "max_pages": 3,
               "scan_timeout": 1.5, "action": ["vm.deleted"], "since": "7d"}
    assert read_arguments(options) == {"page_size": 50, "parallelism": 4, "max_pages": 3,
                                       "deadline": 1.5}
    assert read_arguments({}) == {}
