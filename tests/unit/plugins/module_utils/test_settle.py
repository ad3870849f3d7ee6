# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What "final" means, once: the manifest and the lookup's cache ask the same function."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import settle
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.manifest import finality
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_rfc3339

NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("until, expected", [
    ("2026-11-28T11:55:00Z", True),   # exactly the settle delay before now
    ("2026-11-28T11:56:00Z", False),  # still open to late entries
    (None, False),                    # open-ended
    ("9999-12-31T23:59:00Z", False),  # settles past the year 9999: never final, no overflow
])
def test_a_window_is_final_once_settle_has_passed_since_its_end(until, expected):
    end = parse_rfc3339(until) if until else None
    assert settle.is_final(end, settle.WINDOW_SETTLE_SECONDS, NOW) is expected


@pytest.mark.parametrize("until", ["2026-11-28T11:55:00Z", "2026-11-28T11:56:00Z"])
def test_the_manifest_and_the_cache_agree(until):
    assert finality(until, NOW, 300)["final"] is settle.is_final(parse_rfc3339(until), 300, NOW)


def test_the_manifest_refuses_a_window_that_settles_past_9999():
    with pytest.raises(InvalidOption, match="past the year 9999"):
        finality("9999-12-31T23:59:00Z", NOW, 300)


def test_the_defaults_are_defined_once():
    assert settle.WINDOW_SETTLE_SECONDS == 300
    assert settle.SOURCE_SETTLE == 30.0
