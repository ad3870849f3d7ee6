# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local emulator of the Nirvana Labs audit-log API, and its ground truth.

``Dataset`` is importable without a server: ``Dataset(seed, entries, now).select(filters)``
returns exactly what ``GET /v1/audit_logs`` lists for those parameters, all pages joined.
"""

from .data import Dataset, format_ts
from .query import FILTERS, Query, QueryError

__all__ = ["Dataset", "FILTERS", "Query", "QueryError", "format_ts"]
