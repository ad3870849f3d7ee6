# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instants and durations: parsing RFC 3339, the relative forms and durations users type,
formatting UTC. The one duration grammar of the collection lives here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import math
import re

UTC = datetime.timezone.utc

# A duration: a number and an optional unit (seconds when there is none). An age ("7d" in
# ``since``) is the same grammar restricted to a whole number with a unit.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339 date-time: fromisoformat before 3.11 takes neither "Z" nor fractions of other than
# 3 or 6 digits, so the fraction is normalised to 6 digits first.
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$")


# The instants Python can hold, for messages.
RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"


def parse_rfc3339(text):
    """Aware UTC datetime from an RFC 3339 date-time string; ``None`` when it is not one or
    when it lies outside what Python can hold in UTC (0001-01-01T00:00:00+01:00 is 0000-12-31
    in UTC)."""
    if not isinstance(text, str):
        return None
    if len(text) > _CACHED_LENGTH:  # a hostile length is parsed, never kept
        return _parse_utc(text)
    return _parse_utc_cached(text)


def _parse_utc(text):
    instant = _parse_with_offset(text)
    if instant is None:
        return None
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        return None


# An entry's created_at is read by the scan, the order and the evidence writer in turn: the
# last few thousand answers are kept (datetimes are immutable; the cache is thread-safe).
_CACHED_LENGTH = 40
_parse_utc_cached = functools.lru_cache(maxsize=4096)(_parse_utc)


def _parse_with_offset(text):
    if not isinstance(text, str):
        return None
    match = _DATETIME.match(text)
    if not match:
        return None
    day, clock, fraction, offset = match.groups()
    if fraction:
        clock += "." + (fraction + "000000")[:6]
    if offset in ("Z", "z"):
        offset = "+00:00"
    try:
        return datetime.datetime.fromisoformat("%sT%s%s" % (day, clock, offset))
    except ValueError:
        return None


def parse_instant(text, now):
    """Resolve what a user typed for ``since``/``until`` against ``now`` (aware, UTC).

    Returns an aware UTC datetime, or raises ValueError with the accepted forms.
    """
    value = str(text).strip()
    if value.lower() == "now":
        return now
    age = _DURATION.match(value.lower())
    if age and age.group(2) and age.group(1).isdigit():
        amount, unit = age.groups()
        try:
            return now - datetime.timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
        except OverflowError:
            raise ValueError("%r reaches back before 0001-01-01T00:00:00Z, the first instant"
                             " that can be handled; use a smaller age" % (value,))
    if _DATE.match(value):
        try:
            return datetime.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            pass
    instant = _parse_with_offset(value)
    if instant is not None:
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise ValueError("%r is outside the instants that can be handled (%s)"
                             % (value, RANGE))
    raise ValueError(
        "%r is not a time; use an RFC 3339 date-time with a UTC offset (2026-11-01T08:00:00Z),"
        " a date (2026-11-01), 'now', or an age such as 30m, 12h, 7d, 2w" % (value,))


def parse_duration(value):
    """Seconds from ``300``, ``"300"``, ``"90s"``, ``"5m"``, ``"1h"``, ``"2d"``, ``"1w"``.

    Raises ValueError naming the accepted forms.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration, got %r" % (value,))
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).lower())
        if not match:
            raise ValueError("%r is not a duration; use seconds (300) or a number and a unit"
                             " s, m, h, d or w (90s, 5m, 1h, 2d)" % (value,))
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError("%r is not a finite duration" % (value,))
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return int(seconds) if seconds == int(seconds) else seconds


def format_utc(instant):
    """RFC 3339 in UTC with a ``Z``; microseconds only when there are some. The year always
    has four digits (strftime's %Y does not pad years below 1000 on every platform)."""
    instant = instant.astimezone(UTC)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (instant.year, instant.month, instant.day,
                                              instant.hour, instant.minute, instant.second)
    if instant.microsecond:
        text += ".%06d" % instant.microsecond
    return text + "Z"


def utc_now():
    return datetime.datetime.now(UTC)
