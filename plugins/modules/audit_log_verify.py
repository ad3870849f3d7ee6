#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log_verify
short_description: Verify a chain of audit evidence bundles offline
version_added: 0.1.0
description:
  - Verifies bundles written by M(nirvana_labs.audit.audit_log_export) as one chain of periods,
    offline, as CloudTrail's C(validate-logs) does for its digest files.
  - Sorts the bundles by window and walks them newest to oldest. For each bundle it checks that
    C(SHA256SUMS) lists exactly the files of its C(manifest.json) and the manifest itself, each
    once, that every one of them is a regular file (not a symbolic link) and matches (as
    C(sha256sum -c) would), that nothing else lies in the bundle directory, that the SHA-256 of
    the previous manifest recorded in its C(manifest.json) is that of the next older bundle's
    C(manifest.json), and that the older window ends exactly where this one starts (no gap, no
    overlap).
  - With O(anchor), the newest manifest must have that SHA-256; with O(since) and O(until), the
    bundles must cover that period, else a missing tail or head is reported, as CloudTrail's
    C(validate-logs) reports missing digests at the ends of the requested period.
  - Reports each bundle's verdict with its reasons, the first broken link (bundle and file),
    every gap or overlap, a missing head or tail, and a summary
    C(N of M bundles valid, covering X to Y).
  - Every input gets a verdict, never a traceback. Files are opened without following links or
    blocking (a FIFO, a device or a link is refused), C(manifest.json) and C(SHA256SUMS) are
    read under a size cap, and each manifest field is checked for its type.
  - The same code runs without Ansible as C(tools/verify_evidence_chain.py) in the collection,
    Python standard library only, for an auditor who has only the bundles.
author:
  - Nirvana Labs (@nirvana-labs)
extends_documentation_fragment:
  - nirvana_labs.audit.verify
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads only; check mode runs the same verification.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The oldest bundle may be linked to a bundle that is not given (RV(bundles[].link=outside));
    that is not a failure. Give every bundle back to the first period, or O(since), to verify a
    whole chain.
  - A bundle directory holds the evidence (the data files, C(manifest.json), C(SHA256SUMS)) and
    what the collection writes beside it (the reports C(report.md) and C(report.html), the
    export's lock file C(.audit_log.lock)), which is not evidence and is not checked. Hidden
    C(.part) files of an export that runs or was interrupted are reported as notes. Any other
    file fails the bundle; it is not evidence and no hash covers it.
  - A bundle linked with O(nirvana_labs.audit.audit_log_export#module:previous_unverified=link)
    is reported with a note; its link is still checked.
seealso:
  - module: nirvana_labs.audit.audit_log_export
    description: Write the bundles and link them with O(nirvana_labs.audit.audit_log_export#module:previous).
  - module: nirvana_labs.audit.audit_log_report
    description: Summarise one bundle.
"""

EXAMPLES = r"""
- name: Verify every period under /srv/evidence (one directory per period)
  nirvana_labs.audit.audit_log_verify:
    bundles:
      - /srv/evidence
  delegate_to: localhost
  register: chain

- name: Verify three periods, and report rather than fail on a broken chain
  nirvana_labs.audit.audit_log_verify:
    bundles:
      - /srv/evidence/2026-09
      - /srv/evidence/2026-10
      - /srv/evidence/2026-11
    fail_on_broken: false
  delegate_to: localhost
  register: chain

- name: Verify the chain against the newest manifest's SHA-256 kept elsewhere, over a year
  nirvana_labs.audit.audit_log_verify:
    bundles:
      - /srv/evidence
    anchor: "{{ lookup('ansible.builtin.file', '/srv/anchors/newest.sha256') }}"
    since: "2026-01-01"
    until: "2027-01-01"
  delegate_to: localhost

- name: Verify signatures (key rotation honoured) and timestamps over the audit period
  nirvana_labs.audit.audit_log_verify:
    bundles:
      - /srv/evidence
    allowed_signers: /etc/nirvana-audit/allowed_signers
    require_signature: true
    timestamp_ca_path: /etc/nirvana-audit/tsa-ca.pem
    since: "2026-01-01"
    until: "2027-01-01"
  delegate_to: localhost

- name: Say where it broke
  ansible.builtin.debug:
    msg: "{{ chain.first_broken.bundle }}: {{ chain.first_broken.problem }}"
  when: not chain.ok
"""

RETURN = r"""
ok:
  description: Whether every bundle verified, every link matched and the windows have no gap or overlap.
  returned: always
  type: bool
  sample: true
summary:
  description: The verdict in one sentence.
  returned: always
  type: str
  sample: "3 of 3 bundles valid, covering 2026-09-01T00:00:00Z to 2026-12-01T00:00:00Z; every file
    matches its SHA256SUMS and manifest.json, every link matches, no gap or overlap"
bundles:
  description: Each bundle's verdict, newest first.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The bundle directory.
      type: str
    window:
      description: The bundle's window, from its manifest.
      type: dict
      sample: {since: "2026-11-01T00:00:00Z", until: "2026-12-01T00:00:00Z"}
    manifest_sha256:
      description: SHA-256 of its C(manifest.json), or V(null) when it has none.
      type: str
    verdict:
      description: V(ok) or V(failed).
      type: str
      sample: ok
    files_ok:
      description: Whether every file matched its C(SHA256SUMS).
      type: bool
    bad_files:
      description: The files that did not verify.
      type: list
      elements: str
      sample: [audit_log.jsonl]
    link:
      description:
        - The link to the next older bundle. V(ok) it matches, V(broken) the recorded SHA-256 is
          not that of the older manifest, V(missing) no link although an older bundle was given,
          V(start) the oldest bundle, linked to nothing, V(outside) the oldest bundle, linked to
          a bundle not given, V(unverified) it matches but was made with
          O(nirvana_labs.audit.audit_log_export#module:previous_unverified=link), V(unknown) the
          manifest cannot be read.
      type: str
      sample: ok
    continuity:
      description: V(contiguous), V(gap), V(overlap) or V(unknown) with the next older bundle; V(null) for the oldest.
      type: str
      sample: contiguous
    problems:
      description: Why the bundle failed, one sentence each; empty when RV(bundles[].verdict=ok).
      type: list
      elements: str
      sample: ["SHA256SUMS lists extra.jsonl, which manifest.json does not list: it is not part of the export"]
    signature:
      description:
        - The bundle's signature (C(manifest.json.sig)). V(valid) by a key that O(allowed_signers)
          allows at the bundle's signing time, V(unchecked) valid but no O(allowed_signers) to
          say whose, V(not_allowed) valid but by a key not allowed then, V(invalid) it does not
          verify over C(manifest.json), V(missing) the manifest says it was signed but the
          signature is gone, V(unsigned), V(unknown) the manifest cannot be read.
      type: str
      sample: valid
    signer:
      description: Who signed the bundle, or V(null) when it is unsigned or the signature does not verify.
      type: dict
      contains:
        principal:
          description:
            - The principal of O(allowed_signers) (C(ssh-keygen -Y find-principals)), or
              V(null) without O(allowed_signers) or when the key is not allowed.
          type: str
          sample: evidence@example.com
        fingerprint:
          description: The SHA-256 fingerprint of the signing key.
          type: str
          sample: SHA256:3NJMyeSf38lGxp5b0wu4gODAWvUMTkvyY+KZ7axKyeY
    timestamp:
      description: The bundle's RFC 3161 timestamp (C(manifest.json.tsr)), or V(null) when it has none.
      type: dict
      contains:
        time:
          description: The time the authority attests (UTC).
          type: str
          sample: "2026-12-01T00:05:12Z"
        status:
          description: V(valid) verified against O(timestamp_ca_path), V(unchecked) read without O(timestamp_ca_path), V(invalid).
          type: str
          sample: valid
    notes:
      description: What is worth knowing but does not fail the bundle (a leftover part file, a link to an unverified bundle).
      type: list
      elements: str
      sample: []
first_broken:
  description: The first problem met walking newest to oldest, or V(null) when RV(ok).
  returned: success
  type: dict
  contains:
    bundle:
      description: The bundle directory.
      type: str
    file:
      description: The file at fault, or V(null) for a gap, an overlap or a missing head or tail.
      type: str
      sample: audit_log.jsonl
    problem:
      description: The problem in one sentence.
      type: str
      sample: audit_log.jsonl does not match its SHA-256 in SHA256SUMS
gaps:
  description: Spans no bundle covers, between two consecutive bundles.
  returned: success
  type: list
  elements: dict
  contains:
    older:
      description: The older bundle.
      type: str
    newer:
      description: The newer bundle.
      type: str
    from:
      description: The end of the older window.
      type: str
    to:
      description: The start of the newer window.
      type: str
overlaps:
  description: Spans two consecutive bundles both cover, with the same keys as RV(gaps).
  returned: success
  type: list
  elements: dict
missing_head:
  description: The end of the requested period (O(until)) that no bundle covers, or V(null).
  returned: success
  type: dict
  contains:
    from:
      description: Where the newest bundle ends (V(null) when its window has no end).
      type: str
      sample: "2026-11-01T00:00:00Z"
    to:
      description: The requested O(until).
      type: str
      sample: "2026-12-01T00:00:00Z"
    bundle:
      description: The newest bundle.
      type: str
missing_tail:
  description: The start of the requested period (O(since)) that no bundle covers, or V(null).
  returned: success
  type: dict
  contains:
    from:
      description: The requested O(since).
      type: str
    to:
      description: Where the oldest bundle starts.
      type: str
    bundle:
      description: The oldest bundle.
      type: str
anchor:
  description: The verdict on O(anchor), or V(null) without it.
  returned: success
  type: dict
  contains:
    sha256:
      description: The anchor, lower case.
      type: str
    ok:
      description: Whether the newest bundle's C(manifest.json) has this SHA-256.
      type: bool
    bundle:
      description: The bundle whose manifest has this SHA-256, or V(null) when none has.
      type: str
requested:
  description: The period the chain had to cover, O(since) and O(until) resolved to RFC 3339 UTC (V(null) when not given).
  returned: success
  type: dict
  sample: {since: "2026-09-01T00:00:00Z", until: "2026-12-01T00:00:00Z"}
covering:
  description: The period the given bundles cover, from the oldest window's start to the newest window's end.
  returned: success
  type: dict
  sample: {from: "2026-09-01T00:00:00Z", to: "2026-12-01T00:00:00Z"}
valid:
  description: How many bundles verified.
  returned: success
  type: int
  sample: 3
total:
  description: How many bundles were given.
  returned: success
  type: int
  sample: 3
"""

from ansible_collections.nirvana_labs.audit.plugins.module_utils.ansible_module import (
    schema_module,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.chain import (
    ToolError,
    check_arguments,
    verify_chain,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.tool_runner import (
    module_runner,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.evidence import (
    VERIFY_OPTIONS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_instant,
    utc_now,
)


# Messages about these settings name them already (attestation.check_settings).
SETTING_NAMES = ("allowed_signers:", "require_signature:", "timestamp_ca:")


def requested(params):
    """``(anchor, since, until)``: the bounds resolved as the other modules resolve them (one
    ``now``), to RFC 3339 UTC; ValueError naming the option."""
    now, bounds = utc_now(), {}
    for name in ("since", "until"):
        value = params.get(name)
        bounds[name] = None
        if value not in (None, ""):
            try:
                bounds[name] = format_utc(parse_instant(value, now))
            except ValueError as err:
                raise ValueError("%s: %s" % (name, err))
    anchor = params.get("anchor") or None
    return check_arguments(anchor, bounds["since"], bounds["until"])


def main():
    module = schema_module((VERIFY_OPTIONS,), needs_requests=False)
    result, failure = None, None
    try:
        anchor, since, until = requested(module.params)
    except ValueError as err:
        failure = str(err)
    if not failure:
        try:
            result = verify_chain(module.params["bundles"], anchor=anchor, since=since,
                                  until=until,
                                  allowed_signers=module.params["allowed_signers"],
                                  require_signature=module.params["require_signature"],
                                  timestamp_ca=module.params["timestamp_ca_path"],
                                  runner=module_runner(module))
        except ToolError as err:
            failure = str(err)
        except (ValueError, OSError) as err:
            failure = str(err) if str(err).startswith(SETTING_NAMES) else "bundles: %s" % err
    if failure:
        # Outside the except block, as run_or_fail does: the message says everything.
        module.fail_json(msg=failure, ok=False)
    if not result["ok"] and module.params["fail_on_broken"]:
        broken = result["first_broken"]
        module.fail_json(
            msg="the evidence chain does not verify: bundle %s, file %s: %s"
                % (broken["bundle"], broken["file"] or "-", broken["problem"]),
            changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
