# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""List (query) options shared by audit_log_info, audit_log_export and the audit_log lookup,
rendered from the one schema in module_utils/options.py.

DOCUMENTATION holds the filters and paging options; RESUME adds ``cursor`` for the modules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import (
    QUERY_OPTIONS,
    RESUME_OPTIONS,
    doc_options,
)


class ModuleDocFragment(object):
    DOCUMENTATION = json.dumps({"options": doc_options(QUERY_OPTIONS)}, indent=2)
    RESUME = json.dumps({"options": doc_options(RESUME_OPTIONS)}, indent=2)
