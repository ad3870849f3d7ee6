# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""timeutil holds the one duration grammar: durations (settle) take any number with an
optional unit, ages (since/until) only a whole number with a unit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    parse_duration,
    parse_instant,
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
