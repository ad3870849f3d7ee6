# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server text made fit for a message: masked first, then shortened."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MESSAGE_LIMIT = 200


def short(text, limit=MESSAGE_LIMIT):
    """``text`` on one line, cut to ``limit`` characters. Mask secrets before calling it."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def masked_short(scrub, text, limit=MESSAGE_LIMIT):
    """Server text for a message: ``scrub`` on the whole text, then shortened, so no cut can
    leave a prefix of a secret."""
    return short(scrub(text), limit)
