#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log_export
short_description: Export a period of the Nirvana Labs audit log as a verifiable evidence bundle
version_added: 0.1.0
description:
  - Reads every audit entry that matches a time window and filters, and writes them to
    O(dest) as an evidence bundle, the data files plus C(manifest.json) and C(SHA256SUMS).
  - Streams page by page to disk, so memory stays flat however many entries the period holds.
    Files are written under hidden temporary names, flushed to disk and renamed into place, so an
    interrupted run never leaves a file that looks complete.
  - On Linux the module forks one child process, before the read starts, that writes the data
    files (canonical JSON, SHA-256, order), so writing does not slow the read; it writes the same
    bytes as the module's own process would, and ends with the module. Where the system cannot
    fork, the module writes them itself.
  - The data files are canonical, with one entry per line, keys sorted, compact JSON, and
    entries ordered by C(created_at) then C(id) in the O(order) asked for. The same entries
    always give the same bytes, so a second run over a past window rewrites nothing and reports
    C(changed=false).
  - C(manifest.json) records the query (every option but the key), the resolved UTC window, the
    API base URL, the collection version, who ran the export and when, the pages and entries
    read and written, the server's C(total_count) and whether it matches (completeness),
    whether the window is final, the SHA-256 of each data file and, with O(previous), the
    SHA-256 of the previous bundle's manifest.
  - C(SHA256SUMS) is in the format C(sha256sum -c) reads, so anyone can verify the bundle with
    a stock tool and no Ansible, by running C(sha256sum -c SHA256SUMS) inside O(dest).
  - Usually run on the controller, with C(delegate_to=localhost) or in a play on C(localhost).
extends_documentation_fragment:
  - nirvana_labs.audit.connection
  - nirvana_labs.audit.query
  - nirvana_labs.audit.export
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
  - nirvana_labs.audit.attributes
author:
  - Nirvana Labs (@nirvana-labs)
attributes:
  check_mode:
    support: full
    details:
      - Reads the entries and reports what would change (C(changed), RV(changed_files)); writes
        nothing to O(dest). Data go through a private temporary folder that is removed.
notes:
  - The window is half-open, O(since) inclusive and O(until) exclusive, so consecutive periods
    (C(2026-10-01) to C(2026-11-01), then C(2026-11-01) to C(2026-12-01)) never share or miss an
    entry. Give both as dates or RFC 3339 instants for evidence. Relative times (C(7d)) are
    resolved once, at the start, and each run resolves them anew.
  - Completeness is stated, never assumed. When the scan read the whole list, the server's
    C(total_count) must equal the entries received, otherwise the bundle is marked
    incomplete (RV(completeness.status=mismatch)); O(max_pages) or O(scan_timeout) stopping
    the scan makes it V(stopped). Both fail the task when O(require_complete=true) (the
    default), after the bundle is written. When that comparison means nothing, the
    status is V(not_comparable) and RV(completeness.reason) says why. An example is a scan
    that stopped at the start of the window on a server without the 2026-08 filters, whose
    count covers the whole log.
  - Each entry is written once. The client drops an entry repeated across a page boundary. In
    the canonical order a repeat has the same key as the line before it and is dropped too,
    without keeping a set of every id in memory.
  - When the server did not send the entries in the canonical order, the module sorts them
    itself on disk in runs of 10,000 entries (a few MiB of memory) and merges them; the bytes
    are the same.
  - Run one export per O(dest) at a time. The export holds an exclusive lock on the file
    C(.audit_log.lock) in O(dest) while it runs, so a second export into the same O(dest) fails
    at once with a message that says so. The lock file stays, and is not part of the bundle.
  - The bundle holds user names and client IPs, so its files are created C(0640) and O(dest)
    C(0750) (owner and group only; a stricter umask still applies). O(mode), O(owner) and
    O(group) set them as M(ansible.builtin.copy) does, on the files and, except O(mode), on
    O(dest).
  - In C(audit_log.csv), a text cell that begins with C(=), C(+), C(-), C(@), a tab or a carriage
    return gets a leading single quote, so a spreadsheet shows it as text instead of running it
    as a formula (OWASP CSV injection). Numbers the API sends as numbers are left alone.
    C(audit_log.jsonl) keeps every value exactly and is the authoritative copy.
  - A window that is not final yet (RV(final=false)) gives a warning.
  - There is no O(nirvana_labs.audit.audit_log_info#module:cursor) to resume from. A bundle always
    holds a whole window. An interrupted export is run again, and an export of a past window
    that is already complete in O(dest) rewrites nothing.
seealso:
  - module: nirvana_labs.audit.audit_log_info
    description: Read entries into a variable instead of files.
  - module: nirvana_labs.audit.audit_log_report
    description: Summarise an exported bundle as Markdown and a self-contained HTML page.
  - ref: nirvana_labs.audit.evidence role <ansible_collections.nirvana_labs.audit.evidence_role>
    description: Export, verify and report in one role.
"""

EXAMPLES = r"""
- name: Export November 2026 as evidence, chained to October's bundle
  nirvana_labs.audit.audit_log_export:
    since: "2026-11-01"
    until: "2026-12-01"
    dest: /srv/evidence/2026-11
    previous: /srv/evidence/2026-10
    format: both
  delegate_to: localhost
  register: export

- name: Refuse an unsettled bundle (an incomplete one already failed, require_complete=true)
  ansible.builtin.assert:
    that:
      - export.final
    fail_msg: "{{ export.completeness.reason }} / {{ export.finality.reason }}"

- name: Export the failed calls made with API keys in the last 7 days
  nirvana_labs.audit.audit_log_export:
    since: 7d
    actor_type: api_key
    status_code: [4xx, 5xx]
    dest: /tmp/key-failures
  delegate_to: localhost

- name: Replace a bundle exported with the wrong window (refused without force)
  nirvana_labs.audit.audit_log_export:
    since: "2026-11-01"
    until: "2026-12-01"
    dest: /srv/evidence/2026-11
    force: true
  delegate_to: localhost

- name: Chain December to October knowingly; the missing November is recorded as a gap
  nirvana_labs.audit.audit_log_export:
    since: "2026-12-01"
    until: "2027-01-01"
    dest: /srv/evidence/2026-12
    previous: /srv/evidence/2026-10
    allow_gap: true
  delegate_to: localhost

- name: What would change, without writing anything
  nirvana_labs.audit.audit_log_export:
    since: "2026-11-01"
    until: "2026-12-01"
    dest: /srv/evidence/2026-11
  check_mode: true
  delegate_to: localhost
  register: would

- name: Export November signed with the evidence key and timestamped by a public authority
  nirvana_labs.audit.audit_log_export:
    since: "2026-11-01"
    until: "2026-12-01"
    dest: /srv/evidence/2026-11
    previous: /srv/evidence/2026-10
    signing_key: /etc/nirvana-audit/evidence_ed25519
    timestamp_url: http://timestamp.digicert.com
    timestamp_ca_path: /etc/nirvana-audit/digicert-tsa-ca.pem
  delegate_to: localhost

# The key never goes into environment: (-vvv and ps would show it). Keep it in a variable
# encrypted with ansible-vault (group_vars/all/vault.yml: vault_nirvana_labs_api_key: ...) and
# give it to every module of the collection at once with module_defaults.
- name: Export with the connection set once, from vaulted variables
  module_defaults:
    group/nirvana_labs.audit.audit:
      api_key: "{{ vault_nirvana_labs_api_key }}"
      base_url: "{{ nirvana_labs_base_url | default('https://api.nirvanalabs.io') }}"
  block:
    - name: Export yesterday; fails (after writing the bundle) when it is known incomplete
      nirvana_labs.audit.audit_log_export:
        since: 1d
        dest: "{{ playbook_dir }}/bundle"
        require_complete: true
        max_pages: 1000
        scan_timeout: 600
      delegate_to: localhost
"""

RETURN = r"""
signature:
  description:
    - The signature of C(manifest.json) (O(signing_key) or O(signing_public_key)), or V(null)
      when the bundle is not signed (or in check mode, when it would be signed again).
  returned: success
  type: dict
  contains:
    path:
      description: The signature file, C(manifest.json.sig) beside the manifest.
      type: str
      sample: /srv/evidence/2026-11/manifest.json.sig
    key_type:
      description: The signing key's type.
      type: str
      sample: ED25519
    fingerprint:
      description: The signing key's SHA-256 fingerprint (never the key).
      type: str
      sample: SHA256:3NJMyeSf38lGxp5b0wu4gODAWvUMTkvyY+KZ7axKyeY
timestamp:
  description: The RFC 3161 timestamp (O(timestamp_url)), or V(null) when none was asked for (or in check mode, when one would be obtained).
  returned: success
  type: dict
  contains:
    path:
      description: The authority's response, C(manifest.json.tsr) beside the manifest.
      type: str
      sample: /srv/evidence/2026-11/manifest.json.tsr
    time:
      description: The time the authority attests (UTC).
      type: str
      sample: "2026-12-01T00:05:12Z"
    url:
      description: The authority's URL.
      type: str
      sample: http://timestamp.digicert.com
dest:
  description: Absolute path of the bundle directory.
  returned: success
  type: str
  sample: /srv/evidence/2026-11
files:
  description: The data files of the bundle, by file name.
  returned: success
  type: dict
  sample:
    audit_log.jsonl:
      path: /srv/evidence/2026-11/audit_log.jsonl
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      bytes: 4218893
      lines: 10000
  contains:
    path:
      description: Absolute path of the file.
      type: str
    sha256:
      description: SHA-256 of the file, lowercase hex.
      type: str
    bytes:
      description: Size in bytes.
      type: int
    lines:
      description: Entries in the file (the CSV header is not counted).
      type: int
manifest_path:
  description: Path of C(manifest.json).
  returned: success
  type: str
  sample: /srv/evidence/2026-11/manifest.json
manifest_sha256:
  description:
    - SHA-256 of C(manifest.json), the value a later bundle records through O(previous).
    - In check mode, that of the manifest the run would write.
  returned: success
  type: str
  sample: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
sums_path:
  description: Path of C(SHA256SUMS).
  returned: success
  type: str
  sample: /srv/evidence/2026-11/SHA256SUMS
changed_files:
  description:
    - Files written, or in check mode that would be written, or removed. Empty when the bundle
      in O(dest) already holds exactly these entries.
  returned: success
  type: list
  elements: str
  sample: [SHA256SUMS, audit_log.jsonl, manifest.json]
window:
  description: The window exported, resolved once to UTC instants.
  returned: success
  type: dict
  contains:
    since:
      description: Inclusive start, RFC 3339 UTC, or V(null) without O(since).
      type: str
      sample: "2026-11-01T00:00:00Z"
    until:
      description: Exclusive end, RFC 3339 UTC, or V(null) without O(until).
      type: str
      sample: "2026-12-01T00:00:00Z"
written:
  description: Entries written, each once.
  returned: success
  type: int
  sample: 10000
total_count:
  description: The server's count of the list it was asked for, or V(null) if it sent none.
  returned: success
  type: int
  sample: 10000
complete:
  description:
    - V(true) when the scan read the whole list and the server's count equals the entries
      received; V(false) on a mismatch, or when O(max_results), O(max_pages) or O(scan_timeout)
      cut the export short; V(null) when completeness cannot be judged by count (see
      RV(completeness.reason)).
    - Also returned, with the bundle, in the failure of O(require_complete=true).
  returned: success
  type: bool
  sample: true
completeness:
  description: How completeness was judged, as recorded in the manifest.
  returned: success
  type: dict
  contains:
    status:
      description: V(complete), V(mismatch), V(truncated), V(stopped) (by O(max_pages) or
        O(scan_timeout)) or V(not_comparable).
      type: str
      sample: complete
    complete:
      description: As RV(complete).
      type: bool
    total_count:
      description: The server's count.
      type: int
    received:
      description: Distinct entries the server sent, before client-side filters.
      type: int
    duplicates_sent:
      description: Entries the server sent twice across a page boundary (dropped).
      type: int
    written:
      description: Entries written.
      type: int
    reason:
      description: The judgement in one sentence.
      type: str
      sample: the server's total_count (10000) equals the distinct entries received
    incomplete_reason:
      description: The scan's own reason when it did not find the list complete, else V(null).
      type: str
final:
  description: Whether the window ended at least O(settle) before the run, so no entry can still arrive in it.
  returned: success
  type: bool
  sample: true
finality:
  description: How finality was judged.
  returned: success
  type: dict
  contains:
    final:
      description: As RV(final).
      type: bool
    settle_seconds:
      description: O(settle) in seconds.
      type: int
      sample: 300
    settles_at:
      description: When the window becomes final, RFC 3339 UTC, or V(null) for a window without end.
      type: str
    reason:
      description: The judgement in one sentence.
      type: str
counts:
  description: Pages and entries.
  returned: success
  type: dict
  sample: {pages: 100, scanned: 10000, matched: 10000, duplicates_sent: 0, written: 10000,
           duplicates_dropped: 0, conflicting_duplicates: 0}
scan:
  description: How the list was read, as recorded in the manifest.
  returned: success
  type: dict
  contains:
    pushed_down:
      description: Filter parameters sent to the API.
      type: dict
    stopped_early:
      description: Whether paging stopped before the end of the list because no later entry could match.
      type: bool
    stop_reason:
      description: Why paging stopped early, or V(null).
      type: str
    order:
      description: The order requested, the C(sort) sent, and the order observed.
      type: dict
    client_sorted:
      description: Whether the entries did not arrive in canonical order and were sorted by the module.
      type: bool
previous:
  description: The link to the previous bundle, or V(null) without O(previous).
  returned: success
  type: dict
  contains:
    manifest_sha256:
      description: SHA-256 of the previous bundle's C(manifest.json).
      type: str
    window:
      description: The previous bundle's window.
      type: dict
    contiguous:
      description: Whether the previous window ends exactly at this window's start.
      type: bool
    verified:
      description:
        - Whether the previous bundle verified when it was linked. V(false) only with
          O(previous_unverified=link).
      type: bool
    problems:
      description: What failed verification in the previous bundle; only when RV(previous.verified=false).
      type: list
      elements: str
    gap:
      description:
        - The period between the previous window's end and this window's start, which no
          bundle of the chain holds; only when O(allow_gap=true) accepted it.
      type: dict
      sample: {since: "2026-10-18T00:00:00Z", until: "2026-11-01T00:00:00Z", accepted: true}
run:
  description:
    - Who ran the export that produced the manifest in O(dest), and when. When nothing
      changed, the run recorded by the earlier export that wrote the bundle.
  returned: success
  type: dict
  contains:
    started_at:
      description: Start, RFC 3339 UTC.
      type: str
    finished_at:
      description: End, RFC 3339 UTC.
      type: str
    by:
      description: C(user@host).
      type: str
"""

import signal

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.export import (
    ExportOptions,
    run_export,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    run_or_fail,
    schema_module,
    set_file_attributes,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.tool_runner import (
    module_runner,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.connection import (
    CONNECTION_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    EXPORT_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.filters import (
    FILTER_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.reading import (
    READ_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import pick
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.version import COLLECTION_VERSION


def build_module():
    return schema_module((CONNECTION_OPTIONS, FILTER_OPTIONS, READ_OPTIONS, EXPORT_OPTIONS),
                         add_file_common_args=True)


def _terminate(signum, frame):
    # SystemExit unwinds through run_export's cleanup, which removes every part file.
    raise SystemExit(128 + signum)


def run(module):
    params = module.params
    query = Query.from_options(pick(params, FILTER_OPTIONS))
    client = AuditLogClient.from_options(pick(params, CONNECTION_OPTIONS))
    with client:
        return run_export(client, query, ExportOptions.from_params(params),
                          check_mode=module.check_mode, version=COLLECTION_VERSION,
                          runner=module_runner(module))


def main():
    module = build_module()
    signal.signal(signal.SIGTERM, _terminate)
    result = run_or_fail(module, lambda: run(module), io_failure="cannot write the bundle")
    if not result["final"]:
        module.warn("The window is not final, so this bundle may miss entries: %s. Run the"
                    " export again after that." % result["finality"]["reason"])
    previous = result["previous"] or {}
    if previous.get("verified") is False:
        module.warn("The previous bundle %s failed verification and was linked anyway"
                    " (previous_unverified=link): %s"
                    % (module.params["previous"], "; ".join(previous.get("problems") or [])))
    if previous.get("gap"):
        module.warn("The chain has a gap: %s to %s is in no bundle (accepted with"
                    " allow_gap=true, recorded in the manifest)."
                    % (previous["gap"]["since"], previous["gap"]["until"]))
    paths = [result["dest"], result["manifest_path"], result["sums_path"]]
    paths.extend(info["path"] for info in result["files"].values())
    paths.extend(info["path"] for info in (result["signature"], result["timestamp"])
                 if info and not module.check_mode)
    result["changed"] = set_file_attributes(module, paths, result["changed"])
    completeness = result["completeness"]
    if completeness["complete"] is False:
        message = "The bundle is not complete: %s." % completeness["reason"]
        if module.params["require_complete"]:
            # The bundle is written (its manifest says why it is incomplete) so that what
            # was received can be examined; the task still fails.
            module.fail_json(msg=message + " It was written to %s with complete=false in its"
                             " manifest (require_complete=true)." % result["dest"], **result)
        module.warn(message)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
