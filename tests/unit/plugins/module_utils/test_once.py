# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every scan can be iterated once (once.py): a second pass would read the log again and its
report would describe neither pass."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.prefetch import Prefetched
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import Scan
from ansible_collections.nirvana_labs.audit.plugins.module_utils.slices import ParallelScan


class OnePage(object):
    """A transport whose every list page is the same single entry, without a next cursor."""

    clock = staticmethod(lambda: 0.0)
    sleep = staticmethod(lambda seconds: None)

    def get_json(self, path, params=None):
        return {"items": [{"id": "a", "created_at": "2026-11-01T00:00:00Z"}],
                "pagination": {"total_count": 1}}


def scans():
    window = Query(since="2026-10-01T00:00:00Z", until="2026-12-01T00:00:00Z")
    return [
        Scan(OnePage(), Query()),
        Prefetched(Scan(OnePage(), Query())),
        ParallelScan(OnePage(), window, 100, 2),
    ]


@pytest.mark.parametrize("index", range(3), ids=["Scan", "Prefetched", "ParallelScan"])
def test_a_second_iteration_is_refused(index):
    scan = scans()[index]
    assert [entry["id"] for entry in scan] == ["a"]
    with pytest.raises(RuntimeError) as err:
        iter(scan)
    assert str(err.value) == "a Scan can be iterated once"
