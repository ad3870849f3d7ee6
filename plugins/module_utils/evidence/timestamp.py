# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Obtain an RFC 3161 time-stamp token: the query built by ``openssl ts -query`` (SHA-256,
a nonce, the authority's certificate asked for), POSTed to the authority, the response
checked (granted, and with ``timestamp_ca_path`` verified against the query: imprint, nonce
and the authority's certificate chain).

The request goes out as the collection's HTTP does: certificates verified, a timeout, no
redirect and no proxy from the environment. Plain ``http://`` is accepted because that is
how public authorities serve RFC 3161 and the token is signed; the check above is what
trusts it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import tempfile

try:
    import requests
except ImportError:  # the module reports the missing library before any run
    requests = None

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (
    MAX_TIMESTAMP_BYTES,
    ToolError,
    check_timestamp,
    run_tool,
)

DEFAULT_TIMESTAMP_TIMEOUT = 30.0


class TimestampError(AuditLogError):
    """No usable token from the time-stamping authority; the message says why."""


def _query(workdir, content, runner):
    path = os.path.join(workdir, "query.tsq")
    code, _out, err = run_tool(runner, ["openssl", "ts", "-query", "-digest",
                                        hashlib.sha256(content).hexdigest(), "-sha256", "-cert",
                                        "-out", path])
    if code != 0:
        raise TimestampError("timestamp_url: openssl could not build the time-stamp query: %s"
                             % err.strip()[:200])
    with open(path, "rb") as handle:
        return path, handle.read()


def _post(url, query, timeout, validate_certs):
    if not url.startswith(("https://", "http://")):
        raise TimestampError("timestamp_url: %s is not an http:// or https:// URL" % url[:200])
    if requests is None:
        raise TimestampError("timestamp_url: the Python library requests is required")
    session = requests.Session()
    session.trust_env = False  # no proxy, no .netrc from the environment
    try:
        response = session.post(url, data=query, timeout=timeout, verify=validate_certs,
                                allow_redirects=False, stream=True,
                                headers={"Content-Type": "application/timestamp-query",
                                         "Accept": "application/timestamp-reply"})
        body = response.raw.read(MAX_TIMESTAMP_BYTES + 1, decode_content=True)
    except requests.exceptions.RequestException as err:
        raise TimestampError("timestamp_url: %s cannot be reached: %s"
                             % (url, type(err).__name__))
    finally:
        session.close()
    if response.status_code != 200:
        raise TimestampError("timestamp_url: %s answered HTTP %d, not a time-stamp response"
                             % (url, response.status_code))
    if len(body) > MAX_TIMESTAMP_BYTES:
        raise TimestampError("timestamp_url: %s answered more than %d bytes"
                             % (url, MAX_TIMESTAMP_BYTES))
    return body


def request_token(content, url, runner, ca_path=None, timeout=DEFAULT_TIMESTAMP_TIMEOUT,
                  validate_certs=True):
    """``(response bytes, attested time)`` of a token over ``content`` from ``url``; ``runner``
    runs openssl (see attestation.run_tool)."""
    workdir = tempfile.mkdtemp(prefix="nirvana-tsa-")
    try:
        query_path, query = _query(workdir, content, runner)
        body = _post(url, query, timeout, validate_certs)
        reply = os.path.join(workdir, "reply.tsr")
        with open(reply, "wb") as handle:
            handle.write(body)
        verdict = check_timestamp(reply, content, ca_path, runner)
        if verdict["problem"]:
            raise TimestampError("timestamp_url: the answer of %s: %s" % (url, verdict["problem"]))
        if ca_path is not None:
            code, _out, err = run_tool(runner, ["openssl", "ts", "-verify", "-queryfile",
                                                query_path, "-in", reply, "-CAfile", ca_path])
            if code != 0:
                raise TimestampError("timestamp_url: the answer of %s does not match the query"
                                     " (imprint or nonce): %s" % (url, err.strip()[-200:]))
        return body, verdict["time"]
    except ToolError as err:
        raise TimestampError("timestamp_url: %s" % err)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
