# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module unit test needs: module arguments for AnsibleModule, on every
ansible-core this collection supports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

from ansible.module_utils import basic


@contextlib.contextmanager
def module_args(args):
    """AnsibleModule reads ``args`` as its arguments inside this block."""
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
    else:
        serialized = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
        with mock.patch.object(basic, "_ANSIBLE_ARGS", serialized):
            yield
