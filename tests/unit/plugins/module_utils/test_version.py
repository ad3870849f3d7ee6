# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version in the User-Agent and manifests is the one galaxy.yml releases."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nirvana_labs.audit.plugins.module_utils.version import COLLECTION_VERSION

GALAXY = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "galaxy.yml")


def test_version_matches_galaxy_yml():
    with open(GALAXY) as handle:
        match = re.search(r"^version:\s*(\S+)\s*$", handle.read(), re.MULTILINE)
    assert match and match.group(1) == COLLECTION_VERSION
