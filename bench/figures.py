# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers shared by the measurements: interleaving order, medians, rounding."""

import statistics


def rotated(items, rep):
    """``items`` started at position ``rep``: each repetition puts another one first, so no
    alternative always runs on a cold (or warm) machine."""
    items = list(items)
    k = rep % len(items)
    return items[k:] + items[:k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rnd(value, digits=3):
    if value is None:
        return None
    value = round(value, digits)
    # Keeps ints ints, and turns a rounded -0.0 into 0.0.
    return type(value)(0) if value == 0 else value


def summary(values, digits=3):
    """Runs and their median, rounded for the JSON file."""
    return {"runs": [rnd(v, digits) for v in values], "median": rnd(median(values), digits)}


def ratio(value, base, digits=2):
    if value is None or not base:
        return None
    return round(value / float(base), digits)
