# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify a chain of nirvana_labs.audit evidence bundles, without Ansible.

    python3 verify_evidence_chain.py BUNDLE_OR_DIRECTORY [...] [--json]

Each argument is a bundle directory, or a directory whose subdirectories are bundles. Every
file is checked against its SHA256SUMS, every manifest's link against the SHA-256 of the next
older manifest, and the windows for gaps and overlaps, newest bundle first. Exit status: 0 the
chain verifies, 1 it does not, 2 bad arguments.

Python 3 standard library only. The checks are those of the audit_log_verify module: this
script loads the collection's plugins/module_utils/evidence/chain.py by its path, so there is
one implementation.
"""

from __future__ import absolute_import, division, print_function

import argparse
import importlib.util
import json
import os
import sys

__metaclass__ = type

CHAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "plugins",
                     "module_utils", "evidence", "chain.py")


def load_chain(path=CHAIN):
    spec = importlib.util.spec_from_file_location("nirvana_audit_evidence_chain", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Verify a chain of nirvana_labs.audit evidence bundles (files, links,"
                    " continuity of windows), newest first.")
    parser.add_argument("bundles", nargs="+", metavar="BUNDLE_OR_DIRECTORY")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    chain = load_chain()
    try:
        result = chain.verify_chain(args.bundles)
    except (ValueError, OSError) as err:
        sys.stderr.write("verify_evidence_chain: %s\n" % err)
        return 2
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write("\n".join(chain.format_report(result)) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
