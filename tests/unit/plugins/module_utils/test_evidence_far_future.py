# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows that end near the year 9999: a clear InvalidOption, never an OverflowError."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import manifest as mf
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report import run

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def test_settling_past_the_year_9999_is_an_invalid_settle():
    with pytest.raises(InvalidOption) as err:
        mf.finality("9999-12-31T23:00:00Z", NOW, 7200)
    assert err.value.option == "settle"
    assert str(err.value) == ("settle: 2h after until=9999-12-31T23:00:00Z is past the year"
                              " 9999; choose an earlier until or a shorter settle")


def test_the_last_window_that_still_settles_is_not_final():
    result = mf.finality("9999-12-31T22:00:00Z", NOW, 3600)
    assert result["final"] is False and result["settles_at"] == "9999-12-31T23:00:00Z"


def test_an_until_out_of_range_is_an_invalid_until_not_a_window_without_end():
    with pytest.raises(InvalidOption) as err:
        mf.finality("9999-12-31T23:59:59-01:00", NOW, 0)
    assert err.value.option == "until"


def test_a_report_window_past_the_year_9999_is_refused(tmp_path):
    jsonl = tmp_path / "audit_log.jsonl"
    jsonl.write_text("")
    manifest = {"window": {"since": "9999-12-31T23:30:00Z", "until": None}}
    with pytest.raises(InvalidOption) as err:
        run._window_micros(manifest, str(jsonl))  # pylint: disable=protected-access
    assert str(err.value) == ("src: the bundle's window ends past the year 9999; it cannot be"
                              " reported on")
