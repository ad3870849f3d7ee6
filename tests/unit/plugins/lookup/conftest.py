# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the lookup through Ansible's plugin loader, so its options come from its documentation
and doc fragments exactly as in a play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

# Ansible's collection finder, which the plugin loader needs, is installed by
# tests/unit/conftest.py (ansible-test's own under ansible-test units).


@pytest.fixture
def lookup_plugin():
    from ansible.plugins.loader import lookup_loader
    plugin = lookup_loader.get("nirvana_labs.audit.audit_log")
    assert plugin is not None, "the lookup was not found by Ansible's collection finder"
    return plugin
