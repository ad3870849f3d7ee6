# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What "final" means, defined once: a window is final once its end lies ``settle`` or more
in the past, because the API lists an entry, for good, within ``settle`` of its creation.

The export's manifest (``evidence/manifest.finality``), the lookup's reuse of reads
(``plugin_utils/lookup_cache``) and the event source's watermark all ask this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_duration

# How long after its end a window of the export (and of a reused lookup read) is final.
WINDOW_SETTLE = "5m"
WINDOW_SETTLE_SECONDS = parse_duration(WINDOW_SETTLE)
# How far back each poll of the event source re-reads, in seconds: short, since events want
# low latency and a duplicate is prevented by the remembered ids anyway.
SOURCE_SETTLE = 30.0


def settles_at(until, settle_seconds):
    """The instant ``settle_seconds`` after ``until``; None when that lies past the year 9999
    (datetime's end), where a window can never be final."""
    try:
        return until + datetime.timedelta(seconds=settle_seconds)
    except OverflowError:
        return None


def is_final(until, settle_seconds, now):
    """Whether a window ending at ``until`` (exclusive; None = open) is final at ``now``."""
    if until is None:
        return False
    end = settles_at(until, settle_seconds)
    return end is not None and now >= end
