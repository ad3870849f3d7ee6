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
  - Nirvana Labs audit collection contributors (!UNKNOWN)
options:
  src:
    description:
      - The bundle directory, as written by M(nirvana_labs.audit.audit_log_export) with
        O(nirvana_labs.audit.audit_log_export#module:format=jsonl) or V(both).
    type: path
    required: true
  dest:
    description:
      - Directory to write the report files to. Defaults to O(src).
      - The report files are not listed in the bundle's C(SHA256SUMS). They summarise the evidence
        and are not part of it, and can be regenerated from it at any time.
    type: path
  formats:
    description: Report files to write, V(markdown) (C(report.md)) and V(html) (C(report.html)).
    type: list
    elements: str
    choices: [markdown, html]
    default: [markdown, html]
  baseline:
    description:
      - Earlier bundles whose client IPs are known. A client IP of this window that none of them
        holds is listed as seen for the first time.
      - Usually the previous period's bundle, the one given as
        O(nirvana_labs.audit.audit_log_export#module:previous) to the export.
      - Without a baseline every address of the window counts as first seen, and the report
        says so.
    type: list
    elements: path
    default: []
  top:
    description: Rows in the top actors, actions and target types tables.
    type: int
    default: 10
  list_limit:
    description: Most failed calls, deletions and new client IPs listed one by one (all are counted).
    type: int
    default: 50
  title:
    description: Title of the report. Defaults to the window.
    type: str
  require_verified:
    description:
      - Refuse to report on a bundle whose files do not match its C(SHA256SUMS).
      - With V(false) the report is written with a warning at the top.
    type: bool
    default: true
extends_documentation_fragment:
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
seealso:
  - module: nirvana_labs.audit.audit_log_export
    description: Write the bundle this module reads.
"""

EXAMPLES = r"""
- name: Export November, chained to October
  nirvana_labs.audit.audit_log_export:
    since: "2026-11-01"
    until: "2026-12-01"
    dest: /srv/evidence/2026-11
    previous: /srv/evidence/2026-10
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
      description: Deletions.
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import ReportError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.run import (
    run_report,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path"),
            formats=dict(type="list", elements="str", choices=["markdown", "html"],
                         default=["markdown", "html"]),
            baseline=dict(type="list", elements="path", default=[]),
            top=dict(type="int", default=10),
            list_limit=dict(type="int", default=50),
            title=dict(type="str"),
            require_verified=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for name in ("top", "list_limit"):
        if params[name] < 1:
            module.fail_json(msg="%s: must be a whole number of at least 1" % name)
    if not params["formats"]:
        module.fail_json(msg="formats: give at least one of markdown, html")
    failure = None
    try:
        result = run_report(params["src"], dest=params["dest"], formats=params["formats"],
                            baseline=params["baseline"], top=params["top"],
                            list_limit=params["list_limit"], title=params["title"],
                            require_verified=params["require_verified"],
                            check_mode=module.check_mode)
    except ReportError as err:
        failure = str(err)
    except (IOError, OSError) as err:
        failure = "cannot read the bundle or write the report: %s" % err
    if failure is not None:
        module.fail_json(msg=failure)
    if not result["verified"]:
        module.warn("The bundle failed verification: %s" % "; ".join(result["problems"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
