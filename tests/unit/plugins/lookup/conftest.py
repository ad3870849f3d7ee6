# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the lookup through Ansible's plugin loader, so its options come from its documentation
and doc fragments exactly as in a play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

# tests/unit/plugins/lookup -> the folder that holds ansible_collections/
_COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *([".."] * 7)))


def _ensure_collection_finder():
    """ansible-test installs Ansible's collection finder; plain pytest does not.

    It must be in place before anything imports ``ansible_collections``: a plain namespace
    import first would leave the loader without the collection's metadata.
    """
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    if AnsibleCollectionConfig.collection_finder is not None:
        return
    if "ansible_collections" in sys.modules:
        raise RuntimeError("ansible_collections was imported before Ansible's collection finder"
                           " was installed; run these tests with ansible-test units, or install"
                           " the finder in tests/unit/conftest.py")
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[_COLLECTIONS_ROOT])._install()


_ensure_collection_finder()


@pytest.fixture
def lookup_plugin():
    from ansible.plugins.loader import lookup_loader
    plugin = lookup_loader.get("nirvana_labs.audit.audit_log")
    assert plugin is not None, "the lookup was not found under %s" % _COLLECTIONS_ROOT
    return plugin
