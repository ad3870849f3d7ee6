# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options, rendered from the one schema in module_utils/options.py.

DOCUMENTATION is for modules (environment fallbacks named in the text); PLUGINS is for
lookups and adds the env, vars and ansible.cfg sources that ``get_option`` reads.
JSON is valid YAML, so the rendered mapping is a valid doc fragment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options import (
    CONNECTION_OPTIONS,
    doc_options,
)


class ModuleDocFragment(object):
    DOCUMENTATION = json.dumps({"options": doc_options(CONNECTION_OPTIONS)}, indent=2)
    PLUGINS = json.dumps({"options": doc_options(CONNECTION_OPTIONS, plugin=True)}, indent=2)
