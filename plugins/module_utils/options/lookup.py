# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options only the audit_log lookup takes: its reuse of settled reads, and what a
missing id or a list known to be incomplete does (a lookup has no result to carry a flag).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import choice
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import WINDOW_SETTLE

CACHE_OPTIONS = {
    "cache": dict(
        type="bool",
        default=True,
        description=[
            "Reuse within a run: the same list query evaluated again (on other hosts, or at"
            " another reference of a variable) is answered from a file on the controller"
            " instead of a new scan, while the first evaluation fills it and the others wait.",
            "Only a settled window is reused: O(until) set and at least %s before now, so"
            " the API adds nothing to it any more; an open window is read afresh every time."
            " Relative times resolve at each evaluation, so give absolute instants to share"
            " a read." % WINDOW_SETTLE,
            "Only a complete read is kept (its scan report says C(complete: true)): a read"
            " cut short by O(max_pages) or O(scan_timeout), stopped at O(max_results), or"
            " whose completeness cannot be checked is never reused. A read is reused only by"
            " the same question: the same O(base_url), O(validate_certs) and O(ca_path), the"
            " same resolved window, filters, O(order) and O(fields), and the same O(page_size),"
            " O(max_results), O(max_pages) and O(scan_timeout) (whether a lookup gets its whole"
            " answer never depends on which lookup ran first); O(parallelism), O(timeout) and"
            " O(max_retries) change how it is read, not the answer, and are not compared.",
            "The files are under C(ANSIBLE_LOCAL_TEMP) (default C(~/.ansible/tmp)), in a"
            " private directory per user (C(nirvana_labs_audit_lookup-<uid>), mode 0700) with"
            " one directory per run (per C(ansible-playbook) process), named by a keyed digest:"
            " they never hold the API key. A directory or file there that is a link, belongs to"
            " another user or is open to others, or a temporary directory others could rename"
            " it in (not owned by the user or root, or writable by others without the sticky"
            " bit), is refused: the lookup then reads from the API and warns. Files expire"
            " after an hour and go when the next run finds theirs finished; each is capped in"
            " size.",
            "The cache never fails a lookup: a read that cannot be kept (a full disk, a file"
            " size limit, the directory removed meanwhile) is returned as read, with a warning;"
            " a file that cannot be read is read afresh from the API.",
            "Set to V(false) to always read from the API.",
        ],
    ),
}

ON_MISSING = ("error", "warn", "skip")
ON_MISSING_OPTIONS = {
    "on_missing": choice(ON_MISSING, [
        "What an id with no entry does.",
        "V(error) fails the lookup and names the id.",
        "V(warn) leaves the entry out and warns.",
        "V(skip) leaves the entry out silently.",
    ]),
}

ON_INCOMPLETE = ("error", "warn")
ON_INCOMPLETE_OPTIONS = {
    "on_incomplete": choice(ON_INCOMPLETE, [
        "What a list known to be incomplete does: the server said how many entries match"
        " (C(total_count)) and the lookup, having read to the end of the list, received"
        " another number; or O(max_pages) or O(scan_timeout) stopped it.",
        "V(error) fails the lookup with the reason. V(warn) returns what was received and"
        " warns with the reason.",
        "Completeness cannot be known, and the entries are returned without an error, when"
        " the server sends no C(total_count), when the lookup stopped early because the"
        " verified order left nothing more to match, or when O(max_results) cut the list"
        " (a part was asked for). Each case but the last warns with the reason.",
    ]),
}
