# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one schema of every option the collection's plugins take, a file per group.

Each option is described once: type, default, choices, bounds, environment variable, Ansible
variable, ``ansible.cfg`` key, ``no_log`` and its documentation. The module argument specs
(``ansible_module.argument_spec``), the lookup's checks (``plugin_utils/lookup_base.py``), the
event source's parsing (``event_source.event_source_arguments``) and every piece of generated
documentation (scripts/render_doc_fragments.py: the doc fragments and the event source's
options) come from it, so documentation and plugins cannot drift apart.

    connection.py    CONNECTION_OPTIONS, missing_key_message, API_MODULE_ATTRIBUTES and
                     API_MODULE_REQUIREMENTS (the API modules' attributes fragment)
    filters.py       FILTER_OPTIONS: what selects entries (since, until, the filters, order)
    reading.py       READ_OPTIONS: how they are read (page_size ... scan_timeout)
    info.py          RESUME_OPTIONS (cursor), ID_OPTIONS (id), FIELDS_OPTIONS (fields)
    lookup.py        the lookup's own: CACHE_OPTIONS, ON_MISSING_OPTIONS, ON_INCOMPLETE_OPTIONS
    evidence.py      EXPORT_OPTIONS, VERIFY_OPTIONS, REPORT_OPTIONS
    event_source.py  SOURCE_OPTIONS, SOURCE_FILTER_OPTIONS, event_source_arguments (imported
                     by its path: the modules and the lookup need none of it, nor the poller)
    schema.py        what groups turn into: doc_options, bounds_error, pick, choice, coerce

Plain data and small functions; nothing here imports Ansible or talks HTTP. The core never
imports the schema: the schema imports the constants the core owns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    API_MODULE_ATTRIBUTES,
    API_MODULE_REQUIREMENTS,
    CONNECTION_OPTIONS,
    missing_key_message,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    EXPORT_OPTIONS,
    REPORT_OPTIONS,
    VERIFY_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.info import (
    FIELDS_OPTIONS,
    ID_OPTIONS,
    RESUME_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.lookup import (
    CACHE_OPTIONS,
    ON_INCOMPLETE,
    ON_INCOMPLETE_OPTIONS,
    ON_MISSING,
    ON_MISSING_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    INI_SECTION,
    bounds_error,
    doc_options,
    out_of_bounds,
    pick,
)

__all__ = [
    "API_MODULE_ATTRIBUTES",
    "API_MODULE_REQUIREMENTS",
    "CACHE_OPTIONS",
    "CONNECTION_OPTIONS",
    "EXPORT_OPTIONS",
    "FIELDS_OPTIONS",
    "FILTER_OPTIONS",
    "ID_OPTIONS",
    "INI_SECTION",
    "ON_INCOMPLETE",
    "ON_INCOMPLETE_OPTIONS",
    "ON_MISSING",
    "ON_MISSING_OPTIONS",
    "READ_OPTIONS",
    "REPORT_OPTIONS",
    "RESUME_OPTIONS",
    "VERIFY_OPTIONS",
    "bounds_error",
    "doc_options",
    "missing_key_message",
    "out_of_bounds",
    "pick",
]
