# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify a chain of nirvana_labs.audit evidence bundles, without Ansible.

    python3 verify_evidence_chain.py BUNDLE_OR_DIRECTORY [...]
        [--anchor SHA256] [--since INSTANT] [--until INSTANT]
        [--allowed-signers FILE] [--require-signature] [--timestamp-ca FILE] [--json]

Each argument is a bundle directory, or a directory whose subdirectories are bundles. Every
file is checked against its SHA256SUMS (which must list exactly the manifest's files and the
manifest), every manifest's link against the SHA-256 of the next older manifest, and the
windows for gaps and overlaps, newest bundle first. ``--anchor`` is the newest manifest's
SHA-256 kept elsewhere (it pins the newest bundle); ``--since``/``--until`` the period the chain
must cover (a missing head or tail is reported), in the forms the modules take (RFC 3339, a
date, ``now``, an age such as ``90d``). ``--allowed-signers`` (an OpenSSH allowed signers
file) checks each bundle's ``manifest.json.sig`` with ``ssh-keygen -Y verify`` at the bundle's
signing time, ``--require-signature`` fails an unsigned bundle, ``--timestamp-ca`` checks each
``manifest.json.tsr`` with ``openssl ts -verify``. Exit status: 0 the chain verifies, 1 it does not, 2 bad
arguments.

Python 3 standard library only. The checks are those of the audit_log_verify module: this
script loads the collection's plugins/module_utils/evidence/chain.py (with its sibling
bundle_inputs.py) and plugins/module_utils/timeutil.py by their paths, so there is one
implementation.
"""

from __future__ import absolute_import, division, print_function

import argparse
import importlib.util
import json
import os
import sys

__metaclass__ = type

MODULE_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "plugins",
                            "module_utils")
CHAIN = os.path.join(MODULE_UTILS, "evidence", "chain.py")
TIMEUTIL = os.path.join(MODULE_UTILS, "timeutil.py")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_chain(path=CHAIN):
    return _load("nirvana_audit_evidence_chain", path)


def resolve_instant(timeutil, name, text):
    """An RFC 3339 UTC string from what the user typed, as the modules resolve since/until."""
    if text is None:
        return None
    try:
        return timeutil.format_utc(timeutil.parse_instant(text, timeutil.utc_now()))
    except ValueError as err:
        raise ValueError("--%s: %s" % (name, err))


def format_report(chain, result):
    """The verification as lines of text, newest bundle first."""
    lines = []
    if result.get("missing_head"):
        lines.append("MISSING HEAD  " + chain.head_problem(result["missing_head"]))
    for bundle in result["bundles"]:
        window = bundle["window"]
        verdict = "OK    " if bundle["verdict"] == chain.OK else "FAILED"
        lines.append("%s  %s  [%s .. %s)  link=%s%s" % (
            verdict, bundle["path"], window["since"], window["until"], bundle["link"],
            "" if bundle["continuity"] in (None, "contiguous") else
            "  continuity=%s" % bundle["continuity"]))
        lines.append("        " + describe_seal(bundle))
        for problem in bundle["problems"]:
            lines.append("        %s" % problem)
        for note in bundle.get("notes", ()):
            lines.append("        note: %s" % note)
    if result.get("missing_tail"):
        lines.append("MISSING TAIL  " + chain.tail_problem(result["missing_tail"]))
    if result.get("anchor"):
        lines.append("anchor %s: %s" % (result["anchor"]["sha256"],
                                        "matches the newest manifest" if result["anchor"]["ok"]
                                        else "does NOT match the newest manifest"))
    broken = result["first_broken"]
    if broken:
        lines.append("first broken: bundle %s, file %s: %s"
                     % (broken["bundle"], broken["file"] or "-", broken["problem"]))
    lines.append(("CHAIN OK: " if result["ok"] else "CHAIN BROKEN: ") + result["summary"])
    return lines


def describe_seal(bundle):
    """Who signed the bundle and when it was timestamped, in one line."""
    signer, stamp = bundle.get("signer"), bundle.get("timestamp")
    text = "signature=%s" % bundle.get("signature")
    if signer:
        text += " by %s%s" % (signer["fingerprint"], " (%s)" % signer["principal"]
                              if signer["principal"] else "")
    if stamp:
        text += "  timestamp=%s %s" % (stamp["status"], stamp["time"])
    return text


def parser():
    args = argparse.ArgumentParser(
        description="Verify a chain of nirvana_labs.audit evidence bundles (files, links,"
                    " continuity of windows, anchor, coverage), newest first. Exit status 0"
                    " intact, 1 broken, 2 bad arguments.")
    args.add_argument("bundles", nargs="+", metavar="BUNDLE_OR_DIRECTORY")
    args.add_argument("--anchor", metavar="SHA256",
                      help="the SHA-256 of the newest manifest.json, kept elsewhere")
    args.add_argument("--since", metavar="INSTANT",
                      help="the chain must cover the period from this instant")
    args.add_argument("--until", metavar="INSTANT",
                      help="the chain must cover the period up to this instant")
    args.add_argument("--allowed-signers", metavar="FILE",
                      help="OpenSSH allowed signers file: who may sign the bundles, and when")
    args.add_argument("--require-signature", action="store_true",
                      help="fail a bundle that is not signed (needs --allowed-signers)")
    args.add_argument("--timestamp-ca", metavar="FILE",
                      help="CA certificate of the time-stamping authority (PEM)")
    args.add_argument("--json", action="store_true", help="print the result as JSON")
    return args


def main(argv=None):
    args = parser().parse_args(argv)
    chain = load_chain()
    try:
        timeutil = _load("nirvana_audit_timeutil", TIMEUTIL)
        result = chain.verify_chain(args.bundles, anchor=args.anchor,
                                    since=resolve_instant(timeutil, "since", args.since),
                                    until=resolve_instant(timeutil, "until", args.until),
                                    allowed_signers=args.allowed_signers,
                                    require_signature=args.require_signature,
                                    timestamp_ca=args.timestamp_ca)
    except (ValueError, OSError, chain.ToolError) as err:
        sys.stderr.write("verify_evidence_chain: %s\n" % err)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write("\n".join(format_report(chain, result)) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
