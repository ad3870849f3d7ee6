# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SHA256SUMS: written as ``sha256sum`` writes it, and a bundle verified as ``sha256sum -c``
would, plus the manifest's own file list. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    MANIFEST_NAME,
    SUMS_NAME,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import file_sha256

_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def sums_text(hashes):
    """SHA256SUMS as ``sha256sum`` writes and ``sha256sum -c`` reads it (text mode: two
    spaces), one line per file, sorted by name."""
    return "".join("%s  %s\n" % (hashes[name], name) for name in sorted(hashes)).encode("ascii")


def parse_sums(data):
    """``{name: sha256}`` from SHA256SUMS bytes; raises ValueError on a malformed line."""
    result = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if not match:
            raise ValueError("%s line %d is not '<sha256>  <file>'" % (SUMS_NAME, number))
        result[match.group(2)] = match.group(1).lower()
    return result


def verify_bundle(directory):
    """Check a bundle as ``sha256sum -c`` would, plus the manifest's own file list.

    Returns ``(ok, problems, manifest)``: problems is a list of sentences, manifest the
    parsed manifest.json (or None).
    """
    problems = []
    manifest = None
    sums_path = os.path.join(directory, SUMS_NAME)
    try:
        with open(sums_path, "rb") as handle:
            sums = parse_sums(handle.read())
    except (IOError, OSError):
        return False, ["%s is missing" % SUMS_NAME], None
    except (ValueError, UnicodeDecodeError) as err:
        return False, [str(err)], None
    if MANIFEST_NAME not in sums:
        problems.append("%s does not cover %s" % (SUMS_NAME, MANIFEST_NAME))
    for name in sorted(sums):
        if os.path.basename(name) != name:
            problems.append("%s names a file outside the bundle: %s" % (SUMS_NAME, name))
            continue
        actual = file_sha256(os.path.join(directory, name))
        if actual is None:
            problems.append("%s is missing" % name)
        elif actual != sums[name]:
            problems.append("%s does not match its SHA-256 in %s" % (name, SUMS_NAME))
    try:
        with open(os.path.join(directory, MANIFEST_NAME), "rb") as handle:
            manifest = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError):
        problems.append("%s is missing or not JSON" % MANIFEST_NAME)
        manifest = None
    if isinstance(manifest, dict):
        for name, info in sorted((manifest.get("files") or {}).items()):
            if sums.get(name) != (info or {}).get("sha256"):
                problems.append("%s and %s disagree about %s" % (MANIFEST_NAME, SUMS_NAME, name))
    return not problems, problems, manifest
