# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness itself: the collection imports, and the profile in force is the one asked for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from hypothesis import settings


def test_the_collection_imports():
    from ansible_collections.nirvana_labs.audit.plugins.module_utils import settle
    assert settle.WINDOW_SETTLE_SECONDS == 300


def test_the_profile_is_the_one_asked_for():
    wanted = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    assert settings().derandomize is (wanted == "ci")
