# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scans being compared, run in this process: the collection's client, and what a user
would write with requests alone. Each returns its wall time and what it read, setup included
(a client or session is made inside the timed part, as every real run must)."""

import time

import requests

LIST_PATH = "/v1/audit_logs"


def _collection():
    # Imported late: the driver puts the laid-out collection on sys.path first.
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import (  # noqa
        AuditLogClient,
    )
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query  # noqa
    return AuditLogClient, Query


def collection_scan(emu, options=None, push_down=True, early_stop=True, page_size=100):
    """A scan with the collection's client; ``report`` is its scan report."""
    client_cls, query_cls = _collection()
    start = time.perf_counter()
    with client_cls(emu.api_key, base_url=emu.url, ca_path=emu.ca_path) as client:
        scan = client.scan(query_cls.from_options(dict(options or {})), page_size=page_size,
                           push_down=push_down, early_stop=early_stop)
        count = sum(1 for entry in scan)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "entries": count, "pages": scan.report["pages"],
            "report": scan.report}


def collection_get(emu, entry_id):
    client_cls = _collection()[0]
    with client_cls(emu.api_key, base_url=emu.url, ca_path=emu.ca_path) as client:
        return client.get(entry_id)


def _pages(get, emu, page_size):
    """The official SDKs' paging loop over ``get(url, params) -> response``."""
    cursor, count, pages = None, 0, 0
    while True:
        params = {"limit": page_size}
        if cursor:
            params["cursor"] = cursor
        response = get(emu.url + LIST_PATH, params)
        response.raise_for_status()
        body = response.json()
        pages += 1
        count += len(body["items"])
        cursor = body["pagination"].get("next_cursor")
        if not body["items"] or not cursor:
            return count, pages


def session_scan(emu, page_size=100):
    """A bare requests.Session loop: one connection kept alive, nothing else."""
    start = time.perf_counter()
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer " + emu.api_key
        session.verify = emu.ca_path or True
        count, pages = _pages(lambda url, params: session.get(url, params=params, timeout=60),
                              emu, page_size)
    return {"seconds": time.perf_counter() - start, "entries": count, "pages": pages}


def per_request_scan(emu, page_size=100):
    """requests.get for every page: a new connection (and TLS handshake) each time."""
    headers = {"Authorization": "Bearer " + emu.api_key}
    verify = emu.ca_path or True
    start = time.perf_counter()

    def get(url, params):
        return requests.get(url, params=params, headers=headers, verify=verify, timeout=60)

    count, pages = _pages(get, emu, page_size)
    return {"seconds": time.perf_counter() - start, "entries": count, "pages": pages}


def first_page(emu, params, page_size=100):
    """Items of the first page for ``params`` (used to pick ids and filters)."""
    response = requests.get(emu.url + LIST_PATH, params=dict(params, limit=page_size),
                            headers={"Authorization": "Bearer " + emu.api_key},
                            verify=emu.ca_path or True, timeout=60)
    response.raise_for_status()
    return response.json()["items"]
