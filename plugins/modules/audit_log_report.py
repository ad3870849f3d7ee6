#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log_report
short_description: Summarise an audit evidence bundle as Markdown and a self-contained HTML page
version_added: 0.1.0
description:
  - Reads a bundle written by M(nirvana_labs.audit.audit_log_export) and writes a summary a
    reviewer can open. It has a Markdown report (C(report.md)) and one self-contained HTML page
    (C(report.html)) with inline CSS, an inline SVG chart, no script and no reference to the
    network.
  - "The report shows the window, filters, completeness, finality and verification of the
    bundle, then: activity over the window (calls per interval, failed calls marked), the top
    actors, the actions, the target types, failed calls (4xx and 5xx), API-key activity,
    deletions, and calls from client IPs seen for the first time in the window."
  - The bundle is verified against its C(SHA256SUMS) first; a bundle that fails verification
    is refused unless O(require_verified=false), and then the report says so at the top.
  - Streams the bundle's C(audit_log.jsonl) once, so memory does not grow with the number of
    entries; it grows with the number of distinct actors, actions and addresses, each capped.
  - The report depends only on the bundle (and the baseline), so the same bundle gives the same
    bytes and a second run reports C(changed=false).
author:
  - Nirvana Labs (@nirvana-labs)
extends_documentation_fragment:
  - nirvana_labs.audit.report
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads and aggregates the bundle and reports which report files would change; writes
        nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Failed calls are entries whose C(status_code) is 400 or more. Deletions are entries with
    method C(DELETE) or an action whose verb is C(deleted) or C(delete).
  - At most 100,000 distinct actors, actions, target types, API keys and client IPs are tracked
    each, and 200,000 baseline addresses. Past that the rest are counted in the totals and the
    report says so.
  - Characters that display misleadingly or not at all (bidirectional controls such as
    U+202E, zero-width and other format characters such as U+200B, control characters) are
    shown escaped, as C(\u202e), in both reports, so C(vm.deleted\u200b) is told apart from
    C(vm.deleted). A backslash in a value is shown doubled.
  - The report files are created C(0640) (owner and group only; a stricter umask still
    applies). O(mode), O(owner) and O(group) set them as M(ansible.builtin.copy) does.
  - A bundle whose window was not final gives a warning.
seealso:
  - module: nirvana_labs.audit.audit_log_export
    description: Write the bundle this module reads.
"""

EXAMPLES = r"""
- name: Export November, chained to October
  nirvana_labs.audit.audit_log_export:
    dest: /srv/evidence/2026-11
    previous: /srv/evidence/2026-10
    since: "2026-11-01"
    until: "2026-12-01"
  delegate_to: localhost

- name: Report on it, October's addresses as the known ones
  nirvana_labs.audit.audit_log_report:
    src: /srv/evidence/2026-11
    baseline:
      - /srv/evidence/2026-10
  delegate_to: localhost
  register: report

- name: Point the reviewer at it
  ansible.builtin.debug:
    msg: "Open {{ report.paths.html }}: {{ report.summary.failed_calls }} failed calls"
"""

RETURN = r"""
paths:
  description: The report files, by format.
  returned: success
  type: dict
  sample: {markdown: /srv/evidence/2026-11/report.md, html: /srv/evidence/2026-11/report.html}
changed_files:
  description: Report files written (or, in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [report.html, report.md]
verified:
  description: Whether every file of the bundle matched its C(SHA256SUMS).
  returned: success
  type: bool
  sample: true
problems:
  description: What failed verification, one sentence each; empty when RV(verified).
  returned: success
  type: list
  elements: str
  sample: []
manifest_sha256:
  description: SHA-256 of the bundle's C(manifest.json), also printed in the report.
  returned: success
  type: str
window:
  description: The bundle's window, from its manifest.
  returned: success
  type: dict
  sample: {since: "2026-11-01T00:00:00Z", until: "2026-12-01T00:00:00Z"}
summary:
  description: The headline figures of the report.
  returned: success
  type: dict
  contains:
    entries:
      description: Entries in the bundle.
      type: int
    failed_calls:
      description: Entries with a status code of 400 or more.
      type: int
    deletions:
      description:
        - Deletions that happened, that is DELETE requests and actions whose verb deletes
          (C(vm.deleted)) with a status code below 400.
      type: int
    failed_deletion_attempts:
      description: Deletion attempts the API refused (status code of 400 or more); nothing was deleted.
      type: int
    api_key_calls:
      description: Entries by API keys.
      type: int
    actors:
      description: Distinct actors.
      type: int
    client_ips:
      description: Distinct client IPs.
      type: int
    new_client_ips:
      description: Client IPs not in the baseline, or V(null) without O(baseline).
      type: int
    completeness:
      description: The bundle's completeness status, from its manifest.
      type: str
    final:
      description: Whether the bundle's window was final, from its manifest.
      type: bool
previous_gap:
  description:
    - The gap between the previous bundle's window and this one that the export accepted
      (O(nirvana_labs.audit.audit_log_export#module:allow_gap=true)), from the manifest; the
      report shows it too, and the module warns. V(null) when there is none.
  returned: success
  type: dict
  sample: {since: "2026-10-18T00:00:00Z", until: "2026-11-01T00:00:00Z", accepted: true}
"""

import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
    absolute_path,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.manifest import (
    read_manifest,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import MANIFEST_NAME
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.run import (
    run_report,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    run_or_fail,
    schema_module,
    set_file_attributes,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    REPORT_OPTIONS,
)


def _paths(params):
    """``(src, dest, baseline)``, each absolute (a relative one is refused, as the export's:
    the module's working directory is not where ansible-playbook was started)."""
    src = absolute_path("src", params["src"])
    dest = absolute_path("dest", params["dest"]) if params["dest"] else None
    baseline = [absolute_path("baseline", path) for path in params["baseline"] or []]
    return src, dest, baseline


def _run(params, check_mode):
    src, dest, baseline = _paths(params)
    return run_report(src, dest=dest, formats=params["formats"], baseline=baseline,
                      top=params["top"], list_limit=params["list_limit"], title=params["title"],
                      require_verified=params["require_verified"], check_mode=check_mode)


def main():
    module = schema_module((REPORT_OPTIONS,), needs_requests=False, add_file_common_args=True)
    params = module.params
    result = run_or_fail(
        module,
        lambda: _run(params, module.check_mode),
        io_failure="cannot read the bundle or write the report")
    if not result["verified"]:
        module.warn("The bundle failed verification: %s" % "; ".join(result["problems"]))
    gap = ((read_manifest(os.path.join(result["src"], MANIFEST_NAME)) or {})
           .get("previous") or {}).get("gap")
    result["previous_gap"] = gap if isinstance(gap, dict) else None
    if result["previous_gap"]:
        module.warn("The bundle's chain has a gap: %s to %s is in no bundle (accepted at export"
                    " with allow_gap=true)." % (gap.get("since"), gap.get("until")))
    if result["summary"]["final"] is not True:
        module.warn("The bundle's window was not final when it was exported, so it may miss"
                    " entries; export the period again once it has settled and report again.")
    result["changed"] = set_file_attributes(module, sorted(result["paths"].values()),
                                            result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
