# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a body: streamed, decoded here (gzip and deflate only) under a decoded size cap,
and decoded as standard JSON only.

``zlib.decompressobj(max_length)`` gives at most a chunk of output at a time, so a compression
bomb stops at the cap with a ``BadResponseError`` and peak memory stays near it. NaN/Infinity,
unpaired surrogates and nesting too deep for the parser are a ``BadResponseError``, so nothing
non-standard reaches a JSONL file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import zlib

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    BadResponseError,
    InvalidOption,
    mask_secrets,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.text import short

# Decoded bytes a 2xx body may have: a page of 100 entries is about 100 KB, so this is
# generous, and bounds the memory a hostile body can take.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# Of an error or redirect body only a message is wanted: the rest is not read.
ERROR_BODY_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024
# The body encodings we decode ourselves, under the cap; anything else is refused.
ACCEPT_ENCODING = "gzip, deflate"


def valid_body_cap(value):
    if value is None:
        return DEFAULT_MAX_BODY_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        raise InvalidOption("max_body_bytes", "must be a whole number of bytes, at least 1024")
    return value


class _NonStandardJSON(ValueError):
    pass


def _refuse_constant(name):
    raise _NonStandardJSON(name)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_json(body, status, scrub=mask_secrets):
    """The JSON value of a body, or a BadResponseError: only standard JSON in UTF-8 passes.
    ``scrub`` masks secrets in body text echoed into a message."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadResponseError("the API answered HTTP %d with a body that is not UTF-8" % status)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardJSON as err:
        raise BadResponseError("the API answered HTTP %d with non-standard JSON (%s is not a JSON"
                               " value)" % (status, err))
    except RecursionError:
        raise BadResponseError("the API answered HTTP %d with JSON nested too deeply to read"
                               % status)
    except ValueError:
        # Masked whole, then cut: a key straddling the cut cannot leave its first characters.
        raise BadResponseError("the API answered HTTP %d with a body that is not JSON: %s"
                               % (status, short(scrub(text)[:4096], 80)))
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadResponseError("the API answered HTTP %d with a string holding an unpaired"
                                   " UTF-16 surrogate, which is not text" % status)
        except RecursionError:
            raise BadResponseError("the API answered HTTP %d with JSON nested too deeply to"
                                   " read" % status)
    return data


class _Decoder(object):
    """Content-Encoding undone chunk by chunk, never more than asked for."""

    def __init__(self, encoding, scrub=mask_secrets):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("", "identity"):
            self._zlib = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            # Masked before it is lower-cased, which would hide the key from the mask.
            shown = scrub((encoding or "").strip()).lower()
            raise BadResponseError("the API answered with Content-Encoding %r, which was not"
                                   " asked for (%s)" % (shown, ACCEPT_ENCODING))
        self._started = False

    def decode(self, data):
        """Yield the decoded bytes of ``data`` in pieces of at most _READ_CHUNK: a bomb's
        output is never held in one piece, the caller stops at its cap."""
        if self._zlib is None:
            yield data
            return
        while True:
            try:
                out = self._zlib.decompress(data, _READ_CHUNK)
            except zlib.error:
                if self.encoding == "deflate" and not self._started:
                    # Some servers send raw deflate without the zlib wrapper; urllib3 allows it.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise BadResponseError("the API answered with a corrupt %s body"
                                       % self.encoding)
            self._started = True
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            if not data and len(out) < _READ_CHUNK:
                return

    def finish(self):
        if self._zlib is not None and not self._zlib.eof:
            raise BadResponseError("the API answered with a %s body that ends too early"
                                   % self.encoding)
        return b""


def read_body(raw, encoding, limit, scrub=mask_secrets):
    """(decoded body, whole): read ``raw`` (a urllib3 response) until the end, or until more
    than ``limit`` decoded bytes arrived (then ``whole`` is False)."""
    decoder = _Decoder(encoding, scrub)
    body = bytearray()
    for chunk in raw.stream(_READ_CHUNK, decode_content=False):
        for piece in decoder.decode(chunk):
            body += piece
            if len(body) > limit:
                return body, False
    decoder.finish()
    return body, True


class Reply(object):
    """What the retry loop needs of a response: status, headers and the capped body."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code, headers, content):
        self.status_code = status_code
        self.headers = headers
        self.content = content


def read_reply(response, max_body_bytes, scrub=mask_secrets):
    """The response as a Reply, its body read under the cap (an error body under
    ERROR_BODY_BYTES); the connection is released for reuse only when read to the end."""
    status = response.status_code
    limit = max_body_bytes if 200 <= status < 300 else ERROR_BODY_BYTES
    try:
        body, whole = read_body(response.raw, response.headers.get("Content-Encoding"), limit,
                                scrub)
    except BaseException:
        response.close()
        raise
    if whole:
        response.raw.release_conn()  # read to the end: the connection can be reused
    else:
        response.close()  # not drained: a hostile body could be endless
        if 200 <= status < 300:
            raise BadResponseError(
                "the API answered HTTP %d with a body larger than %d bytes (decoded);"
                " stopped reading it (max_body_bytes)" % (status, limit))
    return Reply(status, response.headers, body)
