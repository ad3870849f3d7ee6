# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make plain ``pytest tests/unit`` import the collection as ``ansible-test units`` does.

Under ansible-test, its pytest plugin has already installed Ansible's collection finder, and
this file does nothing. Under plain pytest it installs the finder itself, for the folder that
holds ``ansible_collections``. When the checkout does not sit at
``.../ansible_collections/nirvana_labs/audit`` (a plain clone), that folder is a temporary one
with a symlink to the checkout, removed at exit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import shutil
import sys
import tempfile

NAMESPACE = "nirvana_labs"
NAME = "audit"


def _finder_installed():
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    return any(isinstance(finder, _AnsibleCollectionFinder) for finder in sys.meta_path)


def _collections_base(collection_root):
    """The folder holding ansible_collections/<namespace>/<name> == collection_root."""
    parent = os.path.dirname
    if (os.path.basename(collection_root) == NAME
            and os.path.basename(parent(collection_root)) == NAMESPACE
            and os.path.basename(parent(parent(collection_root))) == "ansible_collections"):
        return parent(parent(parent(collection_root)))

    base = tempfile.mkdtemp(prefix="nirvana_labs.audit-pytest-")
    atexit.register(shutil.rmtree, base, True)
    namespace_dir = os.path.join(base, "ansible_collections", NAMESPACE)
    os.makedirs(namespace_dir)
    os.symlink(collection_root, os.path.join(namespace_dir, NAME))
    return base


def _install_collection_finder():
    if _finder_installed():
        return
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    collection_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    finder = _AnsibleCollectionFinder(paths=[_collections_base(collection_root)])
    finder._install()  # pylint: disable=protected-access


_install_collection_finder()
