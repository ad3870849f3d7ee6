# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence bundles: export (write, hash, manifest, verify) and reports. One concern a file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
