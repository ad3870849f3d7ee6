# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baseline bundles: the client IPs already seen, so a report lists only new addresses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import ReportError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import JSONL_NAME
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import read_lines
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.report.aggregate import (
    text_of,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.sums import verify_bundle

BASELINE_IP_LIMIT = 200000


def client_ips(path, into, limit):
    """Add the client IPs of a JSONL file to the set ``into``, up to ``limit`` addresses.

    Returns False when the limit was reached (the baseline is then partial).
    """
    for line in read_lines(path):
        entry = json.loads(line.decode("utf-8"))
        ip = entry.get("client_ip") if isinstance(entry, dict) else None
        if ip is None or ip in into:
            continue
        if len(into) >= limit:
            return False
        into.add(text_of(ip))
    return True


def baseline_ips(paths):
    """``(ips, partial, names)`` of the verified baseline bundles in ``paths``.

    ``ips`` is None when no baseline was given; ``partial`` says the limit was reached.
    """
    if not paths:
        return None, False, []
    ips = set()
    partial = False
    names = []
    for path in paths:
        base_dir = os.path.abspath(path)
        ok, base_problems, _base_manifest = verify_bundle(base_dir)
        if not ok:
            raise ReportError("baseline: the bundle in %s failed verification: %s"
                              % (base_dir, "; ".join(base_problems)))
        base_jsonl = os.path.join(base_dir, JSONL_NAME)
        if not os.path.isfile(base_jsonl):
            raise ReportError("baseline: %s has no %s" % (base_dir, JSONL_NAME))
        if not client_ips(base_jsonl, ips, BASELINE_IP_LIMIT):
            partial = True
        names.append(base_dir)
    return ips, partial, names
