# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of an evidence bundle's files, its formats and the evidence defaults.

A leaf module: the option schema imports these, so each value is written once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

JSONL_NAME = "audit_log.jsonl"
CSV_NAME = "audit_log.csv"
MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
DATA_NAMES = (JSONL_NAME, CSV_NAME)

EXPORT_FORMATS = ("jsonl", "csv", "both")
FORMATS = EXPORT_FORMATS
# Entries younger than this may still arrive late; a window closer to now is not final.
DEFAULT_SETTLE = "5m"

REPORT_FORMATS = ("markdown", "html")
DEFAULT_TOP = 10
DEFAULT_LIST_LIMIT = 50
