# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the emulator's own tests: constants, schema validation, raw clients.

Every JSON response a ``Client`` reads is validated against the schemas in ../schema unless
the test asks for the raw bytes (faults that break the body on purpose). Tests import this
module by its unique name, never ``conftest`` (several conftest modules share that name).
"""

import http.client
import json
import os
import socket
import sys
from urllib.parse import urlencode, urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_DIR = os.path.dirname(HERE)
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)


NOW = "2026-11-01T00:00:00Z"
SEED = 7
ENTRIES = 3000
API_KEY = "test-key-123"


def _load_schemas():
    folder = os.path.join(EMULATOR_DIR, "schema")
    schemas = {}
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as handle:
            schemas[name] = json.load(handle)
    registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
    return dict((name, Draft202012Validator(s, registry=registry,
                                            format_checker=Draft202012Validator.FORMAT_CHECKER))
                for name, s in schemas.items())


VALIDATORS = _load_schemas()


def validate(name, obj):
    """Raise if ``obj`` does not follow schema ``name`` (file name in ../schema)."""
    VALIDATORS[name].validate(obj)


class Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name.lower())


class Client(object):
    """One keep-alive connection (http.client), for precise control of what is sent."""

    def __init__(self, url, api_key=API_KEY, timeout=10, ssl_context=None):
        parts = urlsplit(url)
        self.path_prefix = parts.path.rstrip("/")
        if parts.scheme == "https":
            self.conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                    context=ssl_context)
        else:
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.api_key = api_key

    def request(self, method, path, params=None, headers=None, body=None, auth=True, check=True):
        target = path + ("?" + (params if isinstance(params, str) else urlencode(params))
                         if params else "")
        hdrs = {}
        if auth and self.api_key is not None:
            hdrs["Authorization"] = "Bearer " + self.api_key
        hdrs.update(headers or {})
        self.conn.request(method, target, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        out = Response(resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data)
        if check:
            _check_schema(path, out)
        return out

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params, **kw)

    def pages(self, params=None, limit=100):
        """Every page of a list, following next_cursor; returns (items, pages)."""
        params = dict(params or {}, limit=limit)
        items, pages = [], []
        while True:
            resp = self.get("/v1/audit_logs", params)
            assert resp.status == 200, resp.body
            page = resp.json()
            pages.append(page)
            items.extend(page["items"])
            cursor = page["pagination"]["next_cursor"]
            if not cursor or not page["items"]:
                return items, pages
            params["cursor"] = cursor

    def close(self):
        self.conn.close()


def _check_schema(path, resp):
    if path.startswith("/_emulator") or 300 <= resp.status < 400:
        return
    data = resp.json()
    if resp.status >= 400:
        validate("error.json", data)
    elif path == "/v1/audit_logs":
        validate("audit_log_list.json", data)
    else:
        validate("audit_log.json", data)


def raw_exchange(url, request_bytes, timeout=5):
    """Send bytes on a fresh TCP connection and read until the peer closes or resets."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        sock.sendall(request_bytes)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        sock.close()
