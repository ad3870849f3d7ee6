# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of an evidence bundle's files and the formats its data may be written in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

JSONL_NAME = "audit_log.jsonl"
CSV_NAME = "audit_log.csv"
MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
DATA_NAMES = (JSONL_NAME, CSV_NAME)

FORMATS = ("jsonl", "csv", "both")
