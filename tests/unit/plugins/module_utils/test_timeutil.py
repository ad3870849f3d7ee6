# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""timeutil holds the one duration grammar: durations (settle) take any number with an
optional unit, ages (since/until) only a whole number with a unit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import timeutil
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    parse_duration,
    parse_instant,
    parse_rfc3339,
)

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)


class TestAges:

    @pytest.mark.parametrize("text, seconds", [
        ("30m", 1800), (" 12 H ", 43200), ("7d", 604800), ("2w", 1209600), ("0s", 0)])
    def test_whole_number_and_unit(self, text, seconds):
        assert parse_instant(text, NOW) == NOW - datetime.timedelta(seconds=seconds)

    @pytest.mark.parametrize("text", ["1.5h", "30", "-5m", "5 minutes"])
    def test_a_duration_that_is_not_an_age_is_refused(self, text):
        with pytest.raises(ValueError, match="age such as"):
            parse_instant(text, NOW)


class TestDurations:

    @pytest.mark.parametrize("value, seconds", [
        (300, 300), (2.5, 2.5), ("300", 300), ("1.5h", 5400), ("5M", 300)])
    def test_number_with_optional_unit(self, value, seconds):
        assert parse_duration(value) == seconds

    @pytest.mark.parametrize("value", [True, "soon", "-1m", -1, "5 minutes"])
    def test_refused(self, value):
        with pytest.raises(ValueError):
            parse_duration(value)


class TestParseCache:
    """created_at is parsed by the scan, the order and the writer: answers are remembered,
    but only for strings of a sane length."""

    def test_the_same_text_gives_the_same_instant_from_the_cache(self):
        text = "2026-11-30T12:34:56.5+01:00"
        first = parse_rfc3339(text)
        hits = timeutil._parse_utc_cached.cache_info().hits  # pylint: disable=protected-access
        assert parse_rfc3339(text) == first == datetime.datetime(
            2026, 11, 30, 11, 34, 56, 500000, tzinfo=datetime.timezone.utc)
        assert timeutil._parse_utc_cached.cache_info().hits == hits + 1  # pylint: disable=protected-access

    def test_a_long_text_is_parsed_but_never_kept(self):
        text = "2026-11-30T12:34:56." + "1" * 5000 + "Z"
        size = timeutil._parse_utc_cached.cache_info().currsize  # pylint: disable=protected-access
        assert parse_rfc3339(text) == datetime.datetime(
            2026, 11, 30, 12, 34, 56, 111111, tzinfo=datetime.timezone.utc)
        assert timeutil._parse_utc_cached.cache_info().currsize == size  # pylint: disable=protected-access

    @pytest.mark.parametrize("value", [None, 17, ["2026-11-30T12:34:56Z"], "yesterday"])
    def test_what_is_not_an_rfc3339_string_is_none(self, value):
        assert parse_rfc3339(value) is None
