# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opaque, tamper-evident page cursors bound to the list they page through.

A cursor is base64url(version, offset, binding, MAC): ``binding`` is a hash of the query key
and the limit, the MAC an HMAC-SHA256 over the rest. The MAC key derives from the data set's
identity (seed, size, now, API generation), so a restarted emulator with the same options
accepts the cursors of the previous run, and nothing else forges one.
"""

import base64
import binascii
import hashlib
import hmac
import re
import struct

from .query import QueryError

_VERSION = 1
_HEAD = struct.Struct(">BI8s")
_MAC_LEN = 12
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")


class CursorCodec(object):
    """Encode and check cursors for one data set."""

    def __init__(self, identity):
        self._key = hashlib.sha256(("audit-emulator-cursor:%s" % identity).encode()).digest()

    @staticmethod
    def binding(query, limit):
        return hashlib.sha256(("%s|%d" % (query.key, limit)).encode()).digest()[:8]

    def encode(self, offset, binding):
        head = _HEAD.pack(_VERSION, offset, binding)
        mac = hmac.digest(self._key, head, "sha256")[:_MAC_LEN]
        return base64.urlsafe_b64encode(head + mac).decode("ascii").rstrip("=")

    def decode(self, token, binding):
        """The offset a cursor points at; QueryError (400) if forged or bound elsewhere."""
        # b64decode skips stray characters; a cursor with any is not one we issued.
        if not _ALPHABET.match(token):
            raise QueryError("cursor is not valid", status=400, param="cursor")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise QueryError("cursor is not valid", status=400, param="cursor")
        if len(raw) != _HEAD.size + _MAC_LEN:
            raise QueryError("cursor is not valid", status=400, param="cursor")
        head, mac = raw[:_HEAD.size], raw[_HEAD.size:]
        good = hmac.digest(self._key, head, "sha256")[:_MAC_LEN]
        if not hmac.compare_digest(mac, good):
            raise QueryError("cursor is not valid", status=400, param="cursor")
        version, offset, bound = _HEAD.unpack(head)
        if version != _VERSION:
            raise QueryError("cursor is not valid", status=400, param="cursor")
        if not hmac.compare_digest(bound, binding):
            raise QueryError("cursor was issued for other filters, sort or limit", status=400,
                             param="cursor")
        return offset
