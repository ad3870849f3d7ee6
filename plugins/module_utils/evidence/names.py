# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of an evidence bundle's files, its formats and the evidence defaults.

Nearly a leaf (it imports only the stdlib-only chain.py and attestation.py): the option schema
imports these, so each value is written once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The manifest's and SHA256SUMS' names belong to chain.py, which imports nothing of the
# collection so that the offline verification script can load it by its path.
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.chain import (  # noqa: F401 pylint: disable=unused-import
    MANIFEST_NAME,
    SUMS_NAME,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (  # noqa: F401 pylint: disable=unused-import
    NAMESPACE,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
)

JSONL_NAME = "audit_log.jsonl"
CSV_NAME = "audit_log.csv"
DATA_NAMES = (JSONL_NAME, CSV_NAME)

EXPORT_FORMATS = ("jsonl", "csv", "both")
FORMATS = EXPORT_FORMATS
# What a previous bundle that fails verification does: fail the export, or be linked anyway.
PREVIOUS_UNVERIFIED = ("fail", "link")

REPORT_FORMATS = ("markdown", "html")
DEFAULT_TOP = 10
DEFAULT_LIST_LIMIT = 50
