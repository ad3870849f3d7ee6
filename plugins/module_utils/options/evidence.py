# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the evidence modules: audit_log_export (beside the connection, filters
and read settings), audit_log_verify and audit_log_report.

The formats, names and defaults are the evidence code's own (``evidence/names.py``); the
schema imports them to document them, never the other way round.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TOP,
    EXPORT_FORMATS,
    NAMESPACE,
    PREVIOUS_UNVERIFIED,
    REPORT_FORMATS,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
)

from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import (
    choice,
    duration,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import WINDOW_SETTLE

EXPORT_OPTIONS = {
    "dest": dict(
        type="path",
        required=True,
        description=[
            "Directory of the bundle. Created when missing.",
            "The module owns the files C(audit_log.jsonl), C(audit_log.csv), C(manifest.json) and"
            " C(SHA256SUMS) in it and leaves every other file alone. Use one directory per period.",
            "When O(dest) already holds the bundle of another window or of other filters, the"
            " export fails, naming both, and replaces nothing unless O(force=true). The same"
            " window and filters again is a re-run, which rewrites only what changed.",
            "An absolute path. A relative path is refused, because a module does not run in the"
            " directory C(ansible-playbook) was started in (on a local connection it runs in"
            " the playbook's directory); write V({{ playbook_dir }}/...) or"
            " V({{ lookup('env', 'PWD') }}/...) to mean one of those.",
            "Hidden C(.part) files of an interrupted export are removed by the next run.",
        ],
    ),
    "force": dict(
        type="bool",
        default=False,
        description=[
            "Replace the bundle in O(dest) even when it holds another window or other filters"
            " (or a C(manifest.json) that cannot be read). The replaced evidence is gone, and"
            " a later bundle that linked to it no longer verifies.",
            "Not needed to re-run the same window, or to change O(format) or the read settings.",
        ],
    ),
    "format": choice(EXPORT_FORMATS, [
        "Data files to write. V(jsonl) writes C(audit_log.jsonl), the authoritative copy with"
        " every field as the API sent it. V(csv) writes C(audit_log.csv), one row per entry"
        " with nested fields flattened (C(actor.id), C(actor.name), C(actor.type),"
        " C(target.id), C(target.type)) and any field the API adds in future kept, as"
        " canonical JSON, in a last C(extra) column. V(both) writes both.",
        "A data file of a format no longer asked for is removed from O(dest).",
    ]),
    "settle": duration(
        WINDOW_SETTLE,
        [
            "How long after its end a window is taken as final, that is, no longer receiving"
            " entries. A bundle whose window ended less than this before the run is marked not"
            " final (RV(final=false)); run the export again later to get the settled period.",
            "It settles a whole window. The C(settle) of the event source"
            " C(nirvana_labs.audit.audit_log) takes the same syntax but settles each entry it"
            " sends, and its default is shorter (C(30s)) because a late entry is still sent,"
            " once.",
        ],
        minimum=0,
    ),
    "previous": dict(
        type="path",
        description=[
            "The previous bundle of a chain of periods, its directory or its C(manifest.json).",
            "Its manifest's SHA-256 is recorded in this manifest, so the periods form a chain in"
            " which altering an earlier bundle is evident, and RV(previous.contiguous) says whether"
            " the previous window ends exactly where this one starts.",
            "The previous bundle is verified first (its files against its C(SHA256SUMS)); see"
            " O(previous_unverified).",
            "The previous window must end exactly where this one starts. A gap fails the"
            " export, before anything is read, unless O(allow_gap=true); an overlap, or a"
            " window without O(since) (or a previous one without an end), always fails.",
            "An absolute path, as O(dest). Omit it for the first period of a chain.",
        ],
    ),
    "allow_gap": dict(
        type="bool",
        default=False,
        description=[
            "Chain to an O(previous) bundle whose window ends before this one starts, knowingly"
            " leaving the period in between out of the chain.",
            "The gap is recorded in the manifest (C(previous.gap), with C(accepted: true)) and"
            " returned in RV(previous.gap); M(nirvana_labs.audit.audit_log_report) shows it and"
            " M(nirvana_labs.audit.audit_log_verify) still reports it.",
        ],
    ),
    "previous_unverified": choice(PREVIOUS_UNVERIFIED, [
        "What to do when the O(previous) bundle fails verification.",
        "V(fail) fails the export, naming the bundle and the file that does not match.",
        "V(link) links it anyway, with a warning, and records RV(previous.verified=false)"
        " and the problems in the manifest, where M(nirvana_labs.audit.audit_log_verify)"
        " reports them.",
    ]),
    "require_complete": dict(
        type="bool",
        default=True,
        description=[
            "Fail the task when the scan is known to be incomplete: the server said how many"
            " entries match (C(total_count)) and another number was received, or"
            " O(max_pages) or O(scan_timeout) stopped the scan.",
            "The bundle is written first, its manifest saying C(complete: false) and why, so"
            " that what was received can be examined; then the task fails with the reason.",
            "When completeness cannot be known (a server without C(total_count), a scan stopped"
            " early on a verified order) the task succeeds with RV(complete=null), and"
            " RV(completeness.reason) says why.",
            "V(false) writes the bundle and only warns.",
        ],
    ),
    "signing_key": dict(
        type="path",
        description=[
            "A private SSH key file (OpenSSH format, for example made by C(ssh-keygen -t"
            " ed25519)) to sign the bundle's C(manifest.json) with (C(ssh-keygen -Y sign) in the"
            " namespace C(%s)), written beside it as C(%s)." % (NAMESPACE, SIGNATURE_NAME),
            "The manifest records that the bundle is signed, and the SHA-256 of the previous"
            " bundle's signature, so removing a signature or re-signing part of a chain is"
            " evident. M(nirvana_labs.audit.audit_log_verify) checks it against an allowed"
            " signers file.",
            "ssh-keygen reads the key; the module never does, and its content appears in no"
            " result, log or message. A key protected by a passphrase fails at once with a"
            " clear message (there is no prompt): add it to an ssh-agent and give"
            " O(signing_public_key) instead.",
            "Mutually exclusive with O(signing_public_key).",
        ],
    ),
    "signing_public_key": dict(
        type="path",
        description=[
            "The public key file of a key held by the ssh-agent named by the environment"
            " variable C(SSH_AUTH_SOCK) (a hardware key, or the agent of an AWX job): the"
            " manifest is signed with C(ssh-keygen -Y sign -U -f) this file.",
            "Mutually exclusive with O(signing_key).",
        ],
    ),
    "timestamp_url": dict(
        type="str",
        description=[
            "The URL of an RFC 3161 time-stamping authority (for example"
            " V(http://timestamp.digicert.com) or V(https://freetsa.org/tsr)).",
            "The export obtains a time-stamp token over the signature (or over the manifest"
            " when the bundle is not signed) and stores the authority's response as C(%s),"
            " which proves that the bundle existed at the attested time." % TIMESTAMP_NAME,
            "The request is built by C(openssl ts -query) and sent without proxy, with"
            " O(timeout) and O(validate_certs); plain C(http://) is accepted, the token being"
            " signed by the authority.",
        ],
    ),
    "timestamp_ca_path": dict(
        type="path",
        description=[
            "The CA certificate file (PEM) of the O(timestamp_url) authority: the token is"
            " verified against it (C(openssl ts -verify)) before the bundle is written.",
            "Without it the token is stored after a check of its form only.",
        ],
    ),
}

VERIFY_OPTIONS = {
    "bundles": dict(
        type="list",
        elements="path",
        required=True,
        description=[
            "The bundles of the chain, each a bundle directory (or its C(manifest.json)), or a"
            " directory whose subdirectories are the bundles, such as the parent of one"
            " directory per period.",
            "The order does not matter; the bundles are sorted by window and checked newest to"
            " oldest.",
        ],
    ),
    "fail_on_broken": dict(
        type="bool",
        default=True,
        description=[
            "Fail when any file, link or window does not verify; the result still carries every"
            " bundle's verdict.",
            "With V(false) the module succeeds and RV(ok) says whether the chain is intact.",
        ],
    ),
    "anchor": dict(
        type="str",
        description=[
            "The SHA-256 of the newest bundle's C(manifest.json), as the export returned it"
            " (RV(nirvana_labs.audit.audit_log_export#module:manifest_sha256)) and as it was kept"
            " somewhere the bundles' custodian cannot change (a ticket, a signed e-mail, a"
            " write-once bucket).",
            "The newest manifest must have this SHA-256. Without it, whoever can write the"
            " bundles can rewrite the newest one consistently (data, manifest and"
            " C(SHA256SUMS)) and the chain still verifies: nothing newer records its hash.",
            "64 hexadecimal digits.",
        ],
    ),
    "since": dict(
        type="str",
        description=[
            "The chain must cover the period from this instant: the oldest bundle's window"
            " must start at or before it, else the chain fails with a missing tail"
            " (RV(missing_tail)).",
            "The forms of O(nirvana_labs.audit.audit_log_info#module:since): an RFC 3339"
            " date-time, a date (midnight UTC), C(now), or an age such as C(90d).",
            "Without it, a chain whose oldest bundles were removed still verifies from its"
            " new oldest bundle on.",
        ],
    ),
    "until": dict(
        type="str",
        description=[
            "The chain must cover the period up to this instant: the newest bundle's window"
            " must end at or after it, else the chain fails with a missing head"
            " (RV(missing_head)).",
            "The forms O(since) takes.",
            "Without it (and without O(anchor)), a chain whose newest bundles were removed"
            " still verifies.",
        ],
    ),
    "allowed_signers": dict(
        type="path",
        description=[
            "An OpenSSH allowed signers file (see C(ssh-keygen(1)), ALLOWED SIGNERS): one line"
            " per principal and public key, with C(namespaces=\"%s\") and optionally"
            " C(valid-after)/C(valid-before), so that a key rotated within a chain is accepted"
            " only for the bundles signed while it was valid." % NAMESPACE,
            "Each bundle's C(%s) is verified with C(ssh-keygen -Y verify) at the bundle's"
            " signing time: its verified timestamp's time, else the later of its"
            " C(run.finished_at) and its window's end. A signature that does not verify, or is"
            " by a key not allowed at that time, fails the bundle, naming the key's"
            " fingerprint; RV(bundles[].signer) says who signed each bundle." % SIGNATURE_NAME,
            "Without it, signatures are checked for integrity only (RV(bundles[].signature) is"
            " V(unchecked)): anyone can make a valid signature.",
        ],
    ),
    "require_signature": dict(
        type="bool",
        default=False,
        description=[
            "Fail a bundle that is not signed. Needs O(allowed_signers).",
            "Without it, an unsigned bundle is reported with RV(bundles[].signature=unsigned);"
            " a bundle whose manifest says it was signed fails when its signature is missing"
            " either way.",
        ],
    ),
    "timestamp_ca_path": dict(
        type="path",
        description=[
            "The CA certificate file (PEM) of the time-stamping authority that timestamped the"
            " bundles: each C(%s) is verified with C(openssl ts -verify) against it and over"
            " the bundle's signature (or manifest), and its time must not be before the end of"
            " the bundle's window." % TIMESTAMP_NAME,
            "Without it, the attested time is reported but not trusted.",
        ],
    ),
}

REPORT_OPTIONS = {
    "src": dict(
        type="path",
        required=True,
        description=[
            "The bundle directory, as written by M(nirvana_labs.audit.audit_log_export) with"
            " O(nirvana_labs.audit.audit_log_export#module:format=jsonl) or V(both).",
        ],
    ),
    "dest": dict(
        type="path",
        description=[
            "Directory to write the report files to. Defaults to O(src).",
            "The report files are not listed in the bundle's C(SHA256SUMS). They summarise the"
            " evidence and are not part of it, and can be regenerated from it at any time.",
        ],
    ),
    "baseline": dict(
        type="list",
        elements="path",
        default=[],
        description=[
            "Earlier bundles whose client IPs are known. A client IP of this window that none of"
            " them holds is listed as seen for the first time.",
            "Usually the previous period's bundle, the one given as"
            " O(nirvana_labs.audit.audit_log_export#module:previous) to the export.",
            "Without a baseline every address of the window counts as first seen, and the report"
            " says so.",
        ],
    ),
    "top": dict(
        type="int",
        default=DEFAULT_TOP,
        minimum=1,
        description=["Rows in the top actors, actions and target types tables."],
    ),
    "list_limit": dict(
        type="int",
        default=DEFAULT_LIST_LIMIT,
        minimum=1,
        description=["Most failed calls, deletions and new client IPs listed one by one (all are"
                     " counted)."],
    ),
    "formats": dict(
        type="list",
        elements="str",
        choices=list(REPORT_FORMATS),
        default=list(REPORT_FORMATS),
        non_empty=True,
        description=["Report files to write, V(markdown) (C(report.md)) and V(html) (C(report.html))."],
    ),
    "title": dict(
        type="str",
        description=["Title of the report. Defaults to the window."],
    ),
    "require_verified": dict(
        type="bool",
        default=True,
        description=[
            "Refuse to report on a bundle whose files do not match its C(SHA256SUMS).",
            "With V(false) the report is written with a warning at the top.",
        ],
    ),
}
