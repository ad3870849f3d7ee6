# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SHA256SUMS: written as ``sha256sum`` writes it. Reading it back and verifying a bundle live
in ``chain.py`` (standard library only, shared with the offline script); they are re-exported
here for the callers that write bundles. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.chain import (  # noqa: F401 pylint: disable=unused-import
    parse_sums,
    verify_bundle,
)


def sums_text(hashes):
    """SHA256SUMS as ``sha256sum`` writes and ``sha256sum -c`` reads it (text mode: two
    spaces), one line per file, sorted by name."""
    return "".join("%s  %s\n" % (hashes[name], name) for name in sorted(hashes)).encode("ascii")
