# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AuditLogClient: the narrow surface every plugin uses — ``get(id)``, ``read(query)``, ``scan``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import BadResponseError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.prefetch import Prefetched
from ansible_collections.nirvana_labs.audit.plugins.module_utils.results import ordered_entries
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import (
    LIST_PATH,
    MAX_PAGE_SIZE,
    Scan,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.slices import (
    ParallelScan,
    parallel_refusal,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.transport import (
    Transport,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    encode_segment,
)

# HAS_REQUESTS and REQUESTS_IMPORT_ERROR are re-exported: adapters import from here only.
__all__ = ["AuditLogClient", "CONNECTION_NAMES", "HAS_REQUESTS", "READ_SETTING_NAMES",
           "REQUESTS_IMPORT_ERROR", "read_arguments"]

# The connection settings: the key, then Transport's keyword arguments. The option schema
# documents exactly these names.
CONNECTION_NAMES = ("api_key", "base_url", "timeout", "validate_certs", "ca_path", "max_retries",
                    "use_proxy", "max_body_bytes")


# The read settings: how the entries are read, never which ones (the Query says which). The
# option schema documents exactly these names; ``scan_timeout`` is the scan's ``deadline``.
READ_SETTING_NAMES = ("page_size", "max_results", "parallelism", "max_pages", "scan_timeout")
_READ_ARGUMENT = {"scan_timeout": "deadline"}


def read_arguments(options):
    """The keyword arguments of ``read``/``scan`` from a mapping with the read setting names:
    the one translation the adapters share (a missing or ``None`` value keeps the default)."""
    return dict((_READ_ARGUMENT.get(name, name), options[name]) for name in READ_SETTING_NAMES
                if options.get(name) is not None)


class AuditLogClient(object):
    """Reads the audit log. Safe to use as a context manager; one connection is reused."""

    def __init__(self, api_key, **connection):
        self.transport = Transport(api_key, **connection)

    @classmethod
    def from_options(cls, options, **transport_kwargs):
        """A client from a mapping with the connection option names (``None`` = default)."""
        connection = dict((name, options.get(name)) for name in CONNECTION_NAMES
                          if name != "api_key" and options.get(name) is not None)
        connection.update(transport_kwargs)
        return cls(options.get("api_key"), **connection)

    def get(self, audit_log_id):
        """One entry by id; NotFoundError when there is none."""
        entry = self.transport.get_json("%s/%s" % (LIST_PATH, encode_segment(audit_log_id)))
        if not isinstance(entry, dict):
            raise BadResponseError("the API answered with an entry that is not an object")
        return entry

    def scan(self, query, page_size=MAX_PAGE_SIZE, max_results=None, cursor=None, push_down=True,
             early_stop=True, max_pages=None, deadline=None, parallelism=1, spill=True,
             prefetch=False):
        """Iterate over the entries that match ``query``; see ``Scan`` for the report and its
        ``complete`` flag.

        With ``parallelism`` above 1 a bounded window may be read in parallel time slices
        (``slices.ParallelScan``, the same entries in the same order); the report's
        ``parallel`` says whether it was and why not. ``spill`` lets slices waiting for their
        turn go to temporary files (for streaming readers that keep memory flat). ``prefetch``
        reads a few pages ahead in a thread while the reader works (``prefetch.Prefetched``;
        parallel slices run ahead by themselves).
        """
        refusal = parallel_refusal(query, parallelism, max_results, cursor, push_down)
        if refusal is None and (max_pages is not None or deadline is not None):
            refusal = "max_pages and the scan deadline are defined for one cursor chain"
        if refusal is None:
            return ParallelScan(self.transport, query, page_size, parallelism,
                                early_stop=early_stop, spill=spill, prefetch=prefetch)
        scan = Scan(self.transport, query, page_size=page_size, max_results=max_results,
                    cursor=cursor, push_down=push_down, early_stop=early_stop,
                    max_pages=max_pages, deadline=deadline)
        scan.report["parallel"] = {"used": False, "reason": refusal, "probes": 0}
        return Prefetched(scan) if prefetch else scan

    def read(self, query, page_size=None, max_results=None, cursor=None, parallelism=1,
             max_pages=None, deadline=None):
        """``(entries, report)``: every match of ``query`` in the order it asks for.

        The one read the adapters share; ``page_size=None`` is the largest page. The report is
        the scan's, final because the iteration ended (``report["complete"]`` says whether the
        entries are the whole answer).
        """
        scan = self.scan(query, page_size=page_size or MAX_PAGE_SIZE, max_results=max_results,
                         cursor=cursor, parallelism=parallelism, spill=False,
                         max_pages=max_pages, deadline=deadline)
        entries = list(scan)
        return ordered_entries(entries, scan.report), scan.report

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
