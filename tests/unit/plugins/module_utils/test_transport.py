# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport against the emulator: auth, errors, TLS, id encoding, the key's secrecy,
connection reuse; and the SDK retry policy's waits, observed through an injected sleep."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import logging

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuditLogError,
    AuthError,
    InvalidOption,
    NotFoundError,
    TLSError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.transport import (
    Transport,
)

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    client_for,
)


class FakeResponse(object):
    def __init__(self, headers):
        self.headers = dict((k.lower(), v) for k, v in headers.items())
        self.headers = _Caseless(self.headers)


class _Caseless(dict):
    def get(self, key, default=None):
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key):
        return dict.__getitem__(self, key.lower())


def transport(**kwargs):
    return Transport("secret", base_url="http://127.0.0.1:9", clock=lambda: 1000000000.0,
                     rand=lambda: 1.0, **kwargs)


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After-Ms": "1500"}, 1.5),
    ({"Retry-After-Ms": "1500", "Retry-After": "9"}, 1.5),
    ({"Retry-After": "3"}, 3.0),
    ({"Retry-After": "0.25"}, 0.25),
    ({"Retry-After": email.utils.formatdate(1000000000.0 + 7, usegmt=True)}, 7.0),
])
def test_server_waits_are_honoured(headers, expected):
    assert transport().retry_delay(FakeResponse(headers), 0) == pytest.approx(expected)


@pytest.mark.parametrize("headers", [
    {}, {"Retry-After": "120"}, {"Retry-After": "0"}, {"Retry-After": "-4"},
    {"Retry-After": "soon"}, {"Retry-After-Ms": "nan-ish"},
    {"Retry-After": email.utils.formatdate(1000000000.0 - 30, usegmt=True)},
])
def test_unusable_server_waits_fall_back_to_backoff(headers):
    # rand() == 1.0 takes the full 25 % jitter off: 0.5 s * 0.75 for the first retry.
    assert transport().retry_delay(FakeResponse(headers), 0) == pytest.approx(0.375)


def test_backoff_doubles_and_is_capped():
    plain = Transport("k", base_url="http://127.0.0.1:9", rand=lambda: 0.0)
    assert [plain.retry_delay(None, n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize("url, fragment", [
    ("http://api.example.com", "plain http"),
    ("ftp://127.0.0.1", "http:// or https://"),
    ("https://", "http:// or https://"),
    ("https://user:pw@api.example.com", "credentials"),
    ("https://api.example.com/?x=1", "query"),
    ("https://api.example.com:99999", "valid URL"),
    ("", "must be a URL"),
])
def test_base_url_is_validated(url, fragment):
    with pytest.raises(InvalidOption) as err:
        Transport("k", base_url=url)
    assert err.value.option == "base_url" and fragment in str(err.value)


@pytest.mark.parametrize("url, keep", [
    ("https://api.nirvanalabs.io/v1", "https://api.nirvanalabs.io"),
    ("https://api.nirvanalabs.io/v1/", "https://api.nirvanalabs.io"),
    ("http://127.0.0.1:8080/V1", "http://127.0.0.1:8080"),
    ("https://gw.example.com/nirvana/v1/audit_logs", "https://gw.example.com/nirvana"),
])
def test_base_url_with_the_api_version_says_to_drop_it(url, keep):
    # /v1 in the base URL used to give "no such endpoint: /v1/v1/audit_logs" at the first
    # request; now the option is refused at once, naming the URL to use instead.
    with pytest.raises(InvalidOption) as err:
        Transport("k", base_url=url)
    assert err.value.option == "base_url"
    assert "drop /v1" in str(err.value).lower() and repr(keep) in str(err.value)


@pytest.mark.parametrize("url", ["https://gw.example.com/v1api", "https://gw.example.com/v10",
                                 "https://gw.example.com/nirvana"])
def test_base_url_with_another_path_is_kept(url):
    assert Transport("k", base_url=url).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2",
                                 "https://api.nirvanalabs.io/"])
def test_loopback_http_and_https_are_accepted(url):
    assert Transport("k", base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize("option, value", [("timeout", 0), ("timeout", "x"), ("max_retries", -1),
                                           ("max_retries", 11), ("max_retries", True)])
def test_numbers_are_validated(option, value):
    with pytest.raises(InvalidOption) as err:
        Transport("k", base_url="http://127.0.0.1:1", **{option: value})
    assert err.value.option == option


def test_a_missing_ca_file_is_named_before_any_request(tmp_path):
    with pytest.raises(InvalidOption) as err:
        Transport("k", base_url="https://127.0.0.1:1", ca_path=str(tmp_path / "nope.pem"))
    assert err.value.option == "ca_path" and "nope.pem" in str(err.value)


@pytest.mark.parametrize("key", [None, "", "  ", "a\nb"])
def test_api_key_is_required_and_clean(key):
    with pytest.raises(InvalidOption) as err:
        Transport(key, base_url="http://127.0.0.1:1")
    assert err.value.option == "api_key"


def test_get_one_entry(api, truth):
    expected = truth.select({}, None)[5]
    with client_for(api) as client:
        assert client.get(expected["id"]) == expected
    record = api.requests_log()[-1]
    assert record["path"] == "/v1/audit_logs/" + expected["id"]


@pytest.mark.parametrize("hostile", ["../api_keys", "a/b", "%2F", "with space", "ünïcødé",
                                     "x?limit=10", "x#frag", "..%2F..%2Fv1", "/"])
def test_ids_never_leave_the_entry_endpoint(api, hostile):
    with client_for(api) as client:
        with pytest.raises(NotFoundError):
            client.get(hostile)
    records = api.requests_log()
    assert len(records) == 1
    raw_path = records[0]["path"]
    assert raw_path.startswith("/v1/audit_logs/")
    assert "/" not in raw_path[len("/v1/audit_logs/"):]
    assert records[0]["query"] == ""


@pytest.mark.parametrize("bad", [".", "..", ""])
def test_dot_segments_and_empty_ids_are_refused(api, bad):
    with client_for(api) as client:
        with pytest.raises(InvalidOption):
            client.get(bad)
    assert api.requests_log() == []


def test_wrong_key_is_an_auth_error_without_the_key(api):
    with AuditLogClient("wrong-key-0123456789", base_url=api.url, sleep=lambda s: None) as client:
        with pytest.raises(AuthError) as err:
            list(client.scan(Query()))
    assert err.value.status == 401
    assert "wrong-key-0123456789" not in str(err.value)
    assert "401" in str(err.value)


def test_unknown_id_is_not_found(api):
    with client_for(api) as client:
        with pytest.raises(NotFoundError) as err:
            client.get("00000000-0000-0000-0000-000000000000")
    assert err.value.status == 404


def test_one_connection_for_a_hundred_pages(api):
    before = api.stats()["connections"]
    with client_for(api) as client:
        entries = list(client.scan(Query(), page_size=30))
    pages = len([r for r in api.requests_log() if r["path"] == "/v1/audit_logs"])
    assert pages == 100 and len(entries) == 3000
    assert api.stats()["connections"] - before == 1


def test_tls_with_the_ca_and_without_verification(emulator_tls, truth):
    emulator_tls.reset()
    with client_for(emulator_tls) as client:
        assert client.get(truth.select({}, None)[0]["id"])["id"]
    with AuditLogClient(emulator_tls.api_key, base_url=emulator_tls.url,
                        validate_certs=False) as client:
        assert client.get(truth.select({}, None)[0]["id"])["id"]


def test_tls_without_the_ca_fails_fast_and_is_not_retried(emulator_tls):
    emulator_tls.reset()
    waits = []
    with AuditLogClient(emulator_tls.api_key, base_url=emulator_tls.url, sleep=waits.append,
                        max_retries=3) as client:
        with pytest.raises(TLSError) as err:
            client.get("x")
    assert waits == []
    assert emulator_tls.api_key not in str(err.value)
    # A new user learns what to do: the CA option and its variable, or http:// for an emulator.
    assert "certificate verify failed" in str(err.value)
    assert str(err.value).endswith(
        ". If the server's certificate is signed by a private CA, set ca_path (or"
        " NIRVANA_LABS_CA_PATH) to that CA's PEM file; a local emulator without TLS is reached"
        " with an http:// base_url")


def test_connection_refused_is_retried_then_reported(unused_port):
    waits = []
    with AuditLogClient("k-secret-42", base_url="http://127.0.0.1:%d" % unused_port,
                        sleep=waits.append, rand=lambda: 0.0, max_retries=2) as client:
        with pytest.raises(AuditLogError) as err:
            client.get("x")
    assert waits == [0.5, 1.0]
    assert "after 3 attempts" in str(err.value) and "k-secret-42" not in str(err.value)


def test_the_key_is_absent_from_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    with client_for(api) as client:
        list(client.scan(Query(), max_results=150))
    assert caplog.records, "urllib3 logs each request at DEBUG"
    assert api.api_key not in caplog.text


@pytest.fixture
def unused_port():
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# -- hostile bodies and secrets, without a server (issue 11) ---------------------------------

def test_mask_secrets_masks_the_key_and_any_bearer_token():
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import mask_secrets
    text = 'key k3y-long, header "Authorization: bearer abc.DEF-123", again BEARER\tzz'
    assert mask_secrets(text, ("k3y-long",)) == (
        'key ********, header "Authorization: bearer ********", again BEARER\t********')
    assert str(AuditLogError("got Bearer tok_123 back")) == "got Bearer ******** back"


class _Raw(object):
    """A urllib3 response's ``stream`` over fixed chunks, counting what was read."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.read = 0

    def stream(self, amount, decode_content):
        assert decode_content is False  # decoding is ours, under the cap
        for chunk in self.chunks:
            self.read += len(chunk)
            yield chunk


def _bomb(mib, wbits):
    import zlib
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    data = b"".join(compressor.compress(b"\0" * (1 << 20)) for dummy in range(mib))
    data += compressor.flush()
    return [data[i:i + 4096] for i in range(0, len(data), 4096)]


@pytest.mark.parametrize("encoding, wbits", [("gzip", 31), ("deflate", 15), ("deflate", -15)])
def test_a_compression_bomb_is_decoded_no_further_than_the_cap(encoding, wbits):
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
        read_body,
    )
    raw = _Raw(_bomb(64, wbits))
    body, whole = read_body(raw, encoding, 1 << 20)
    assert whole is False and (1 << 20) < len(body) <= (1 << 20) + 65536
    assert raw.read < sum(len(c) for c in raw.chunks)  # stopped reading, too
    body, whole = read_body(_Raw(_bomb(2, wbits)), encoding, 4 << 20)
    assert whole is True and body == b"\0" * (2 << 20)


@pytest.mark.parametrize("encoding, chunks, message", [
    ("br", [b"x"], "Content-Encoding 'br', which was not asked for (gzip, deflate)"),
    ("gzip", [b"not gzip"], "a corrupt gzip body"),
    ("gzip", [_bomb(1, 31)[0][:100]], "a gzip body that ends too early"),
])
def test_unusable_encodings_are_bad_responses(encoding, chunks, message):
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
        BadResponseError,
    )
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
        read_body,
    )
    with pytest.raises(BadResponseError) as err:
        read_body(_Raw(chunks), encoding, 1 << 20)
    assert message in str(err.value)


def test_proxies_are_chosen_per_request(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3129")
    plain = transport()
    assert plain._proxies("http://127.0.0.1:9/v1/audit_logs") == {}
    secure = Transport("secret", base_url="https://api.example.test")
    assert secure._proxies("https://api.example.test/v1/audit_logs") == {
        "https": "http://127.0.0.1:3129"}
    assert secure.session.trust_env is False
    off = Transport("secret", base_url="https://api.example.test", use_proxy=False)
    assert off._proxies("https://api.example.test/v1/audit_logs") == {}
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    assert secure._proxies("https://api.example.test/v1/audit_logs") == {}
