# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a list read returns besides its entries' selection: one entry by ``id``, the
``cursor`` that resumes a cut list (audit_log_info), and the ``fields`` kept of each entry
(audit_log_info and the lookup).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

RESUME_OPTIONS = {
    "cursor": dict(
        type="str",
        no_log=False,
        description=[
            "Resume a scan that was cut short by O(max_results): pass the RV(next_cursor) of"
            " the previous result, with the same filters.",
            "The cursor remembers the resolved time window, so relative O(since) and O(until)"
            " do not move between the two calls.",
        ],
    ),
}

ID_OPTIONS = {
    "id": dict(
        type="str",
        description=[
            "Return only the entry with this id, as a list of one.",
            "An id that does not exist returns an empty RV(audit_logs) list, not a failure.",
            "The id is sent as one percent-encoded path segment, whatever characters it holds.",
            "Mutually exclusive with every list option (O(since), O(until), the filters,"
            " O(page_size), O(max_results), O(order) and O(cursor)), including values that come"
            " from C(module_defaults); keep list options out of the defaults of tasks that read"
            " by id.",
        ],
    ),
}

FIELDS_OPTIONS = {
    "fields": dict(
        type="list",
        elements="str",
        description=[
            "Return only these fields of each entry: names or dotted paths such as"
            " C(actor.name), kept nested as in the entry (C({actor: {name: ...}})).",
            "Applied after filtering, so every filter still sees whole entries; a field an"
            " entry lacks is left out of that entry. By default entries are returned whole.",
            "The server still sends whole entries; this keeps the result, and what Ansible"
            " carries from task to task, small.",
        ],
    ),
}
