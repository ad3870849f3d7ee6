# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A server that echoes the raw API key (not only ``Bearer <key>``) never gets it, whole or
in part, into an error's message: whatever part of the answer carries it (a 200 body that is
not JSON, an error body, a JSON escape, an HTML title, a redirect's Location, a header, the
status line an exception quotes) and wherever a cut would fall (issue 20)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import threading

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.transport import (
    Transport,
)

KEY = "Zq7X9mWv3Lp2Rt8K"
ESCAPED_KEY = "".join("\\u%04x" % ord(c) for c in KEY)


class RawServer(object):
    """A loopback server that answers every request with the bytes ``answer(port)`` gives."""

    def __init__(self):
        self.answer = None
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve)
        self._thread.daemon = True
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, dummy = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self.answer(self.port))

    def close(self):
        self._sock.close()


@pytest.fixture(scope="module")
def server():
    running = RawServer()
    yield running
    running.close()


def response(status, body=b"", headers=()):
    head = ["HTTP/1.1 %s" % status, "Content-Length: %d" % len(body), "Connection: close"]
    head.extend(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def message_of(server, answer):
    server.answer = answer
    transport = Transport(KEY, base_url="http://127.0.0.1:%d" % server.port, max_retries=0,
                          sleep=lambda seconds: None)
    try:
        with pytest.raises(AuditLogError) as err:
            transport.get_json("/v1/audit_logs", {"limit": 10})
    finally:
        transport.close()
    return str(err.value)


def assert_no_part_of_the_key(message):
    parts = [KEY[i:i + 5].lower() for i in range(len(KEY) - 4)]
    assert not [p for p in parts if p in message.lower()], message


@pytest.mark.parametrize("body", [
    KEY + " is your key",
    "x" * 75 + KEY,               # the message keeps 80 characters: the cut falls in the key
    "x" * 4090 + KEY,             # the body is cut at 4096 characters before it is shown
    " " * 4090 + KEY,             # ... and white space folds what is left to the front
], ids=["first", "at-the-cut", "at-4096", "after-white-space"])
def test_a_200_body_that_is_not_json(server, body):
    message = message_of(server, lambda port: response("200 OK", body.encode()))
    assert "with a body that is not JSON" in message
    assert_no_part_of_the_key(message)


@pytest.mark.parametrize("status, body, content_type", [
    ("500 Internal Server Error", "upstream rejected " + KEY, "text/plain"),
    ("400 Bad Request", "x" * 190 + KEY, "text/plain"),
    ("401 Unauthorized", " " * 65530 + KEY, "text/plain"),  # cut at 64 KiB, then folded
    ("403 Forbidden", json.dumps({"message": "key " + KEY + " refused"}), "application/json"),
    ("422 Unprocessable", '{"error": {"message": "bad key ' + ESCAPED_KEY + '"}}',
     "application/json"),
    ("404 Not Found", '{"detail": ["' + ESCAPED_KEY + '", "again"]}', "application/json"),
    ("502 Bad Gateway", "<html><title>proxy saw " + KEY + "</title></html>", "text/html"),
], ids=["text", "at-the-cut", "at-64k-after-white-space", "json", "json-escaped",
        "json-list-escaped", "html-title"])
def test_an_error_body(server, status, body, content_type):
    message = message_of(server, lambda port: response(
        status, body.encode(), ["Content-Type: " + content_type]))
    assert status.split()[0] in message
    assert_no_part_of_the_key(message)


@pytest.mark.parametrize("location, expected", [
    ("/elsewhere/" + KEY, "outside the API's path"),
    ("/elsewhere/" + "".join("%%%02X" % ord(c) for c in KEY), "outside the API's path"),
    ("/" + "x" * 60 + KEY, "outside the API's path"),
    ("http://%s.example.test/v1/audit_logs" % KEY, "redirected to another host"),
    ("http://127.0.0.2:{port}/v1/audit_logs?k=" + KEY, "redirected to another host"),
], ids=["path", "percent-encoded-path", "path-at-the-cut", "host", "query"])
def test_a_redirect_location(server, location, expected):
    message = message_of(server, lambda port: response(
        "307 Temporary Redirect", headers=["Location: " + location.replace("{port}", str(port))]))
    assert expected in message
    assert_no_part_of_the_key(message)


def test_a_header_echoed_in_a_message(server):
    message = message_of(server, lambda port: response(
        "200 OK", b"{}", ["Content-Encoding: " + KEY]))
    assert "Content-Encoding '********', which was not asked for" in message
    assert_no_part_of_the_key(message)


def test_an_exception_quoting_the_status_line(server):
    message = message_of(server, lambda port: ("HTTP/1.1 abc " + KEY + "\r\n\r\n").encode())
    assert "connection to 127.0.0.1:%d failed" % server.port in message
    assert_no_part_of_the_key(message)


def test_a_key_spelled_only_in_a_message_is_masked_at_the_edge():
    # The last net: a message built from server text without masking still loses the key.
    transport = Transport(KEY, base_url="http://127.0.0.1:9")

    def unmasked(url, params):
        raise AuditLogError("the server said " + KEY)

    transport._request = unmasked  # pylint: disable=protected-access
    with pytest.raises(AuditLogError) as err:
        transport.get_json("/v1/audit_logs")
    assert str(err.value) == "the server said ********"
    transport.close()
