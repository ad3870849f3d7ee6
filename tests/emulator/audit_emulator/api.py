# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two endpoints of the contract, without HTTP plumbing or faults.

``Api.handle`` takes method, path, query string and Authorization header and returns an
``Answer``: status, headers, JSON body, and for a list page where it is in the list (so a
fault can rewrite its cursors).
"""

import hmac
import re

from urllib.parse import parse_qs, unquote

from .cursor import CursorCodec
from .query import Query, QueryError

LIST_PATH = "/v1/audit_logs"
_ITEM_RE = re.compile(r"^/v1/audit_logs/([^/]+)$")
API_GENERATIONS = ("seed", "2026-08")


class Answer(object):
    """A response before it is written: ``body`` is JSON-able; ``page`` is set for lists."""

    __slots__ = ("status", "headers", "body", "page")

    def __init__(self, status, body, headers=None, page=None):
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        self.page = page

    @property
    def kind(self):
        """What faults may apply to: list_more, list (last page), ok, other."""
        if self.status != 200:
            return "other"
        if self.page is None:
            return "ok"
        return "list_more" if self.body["pagination"]["next_cursor"] else "list"


class Page(object):
    """Where a list page sits: enough to issue other cursors for the same list."""

    __slots__ = ("offset", "limit", "binding", "total")

    def __init__(self, offset, limit, binding, total):
        self.offset = offset
        self.limit = limit
        self.binding = binding
        self.total = total


def error(status, code, message, headers=None):
    return Answer(status, {"error": code, "message": message, "status": status}, headers)


class Api(object):
    """The audit-log API over one data set, for one API key and API generation."""

    def __init__(self, dataset, api_key, generation="2026-08", live=None):
        if generation not in API_GENERATIONS:
            raise ValueError("api must be one of %s" % ", ".join(API_GENERATIONS))
        self.ds = dataset
        self.api_key = api_key
        self.generation = generation
        self.live = live  # LiveEntries: entries added while running, or None
        self.codec = CursorCodec("%d:%d:%d" % (dataset.seed, dataset.size, dataset.now))

    @staticmethod
    def route(path):
        """'list', 'item' or None for a request path."""
        if path == LIST_PATH:
            return "list"
        if _ITEM_RE.match(path):
            return "item"
        return None

    def authorized(self, authorization):
        if not authorization:
            return False
        scheme, dummy, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode("utf-8", "replace"),
                                   self.api_key.encode("utf-8"))

    def handle(self, method, path, query_string, authorization):
        route = self.route(path)
        if route is None:
            return error(404, "not_found", "no such endpoint: %s" % path)
        if method != "GET":
            return error(405, "method_not_allowed", "only GET is allowed here",
                         [("Allow", "GET")])
        if not authorization:
            return error(401, "unauthorized", "missing API key: send Authorization: Bearer <key>",
                         [("WWW-Authenticate", 'Bearer realm="api"')])
        if not self.authorized(authorization):
            return error(401, "unauthorized", "invalid API key",
                         [("WWW-Authenticate", 'Bearer realm="api", error="invalid_token"')])
        if route == "item":
            entry_id = unquote(_ITEM_RE.match(path).group(1))
            entry = self.ds.get(entry_id)
            if entry is None and self.live is not None:
                entry = self.live.get(entry_id)
            if entry is None:
                return error(404, "not_found", "audit log entry not found")
            return Answer(200, entry)
        try:
            return self._list(parse_qs(query_string, keep_blank_values=True))
        except QueryError as err:
            code = "invalid_cursor" if err.status == 400 else "validation_error"
            answer = error(err.status, code, err.message)
            if err.param:
                answer.body["param"] = err.param
            return answer

    def _list(self, params):
        query, limit, cursor = Query.from_params(params, self.generation)
        selection = self.ds.indices(query)
        binding = CursorCodec.binding(query, limit)
        offset = self.codec.decode(cursor, binding) if cursor else 0
        if self.live is not None and len(self.live):
            items, total = self.live.page(query, selection, offset, offset + limit)
        else:
            items, total = None, len(selection)
        if offset > total:
            raise QueryError("cursor is not valid", status=400, param="cursor")
        end = min(offset + limit, total)
        if items is None:
            items = self.ds.render(selection[offset:end])
        body = {
            "items": items,
            "pagination": {
                "next_cursor": self.codec.encode(end, binding) if end < total else None,
                "previous_cursor": self.codec.encode(max(0, offset - limit), binding)
                if offset > 0 else None,
                "total_count": total,
            },
        }
        return Answer(200, body, page=Page(offset, limit, binding, total))
