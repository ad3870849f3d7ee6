# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport: one requests.Session, the API key, TLS, retries, redirects, errors.

Retries follow the provider's official SDKs (contract, "Errors and retries"): connection
errors, timeouts and the statuses 408, 409, 429 and 5xx are retried; ``x-should-retry``
overrides that; the wait comes from ``Retry-After-Ms``, else ``Retry-After`` (seconds or an
HTTP date) when it is between 0 and 60 s, else 0.5 s x 2^n capped at 8 s minus up to 25 %
jitter. The clock, the sleep and the random source are injected so tests observe the waits.

A hostile or broken server costs neither memory nor time nor the key:

- ``timeout`` is a deadline for each attempt (connect, status line, headers and the whole
  body), not a bound on each socket read: a watchdog (deadline.py) shuts the socket down when
  it passes, so a server that drips one byte a second cannot keep a request alive.
- Bodies are read as a stream and decoded here (gzip and deflate only, with
  ``zlib.decompressobj(max_length)``), never more than ``max_body_bytes`` decoded bytes: a
  compression bomb stops at the cap with a ``BadResponseError``, peak memory stays near it.
- Plain-http traffic never goes through a proxy; https goes through the environment's proxy
  only when ``use_proxy`` (a CONNECT tunnel: the proxy sees the host name, never the key).
- Redirects are followed only on the same origin and inside the API's path.
- The key is masked before any text is shortened, and any ``Bearer`` token in any message.
- JSON must be standard JSON: NaN/Infinity, unpaired surrogates and nesting too deep for the
  parser are a ``BadResponseError``, so nothing non-standard reaches a JSONL file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import email.utils
import ipaddress
import json
import os
import random
import re
import socket
import time
import traceback
import warnings
import zlib

try:
    from http.client import HTTPException
    from urllib.parse import quote, unquote, urljoin, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported; keeps the import test calm
    quote = unquote = urljoin = urlsplit = None
    HTTPException = OSError

try:
    import requests
    from requests.auth import AuthBase
    from urllib3.exceptions import HTTPError as Urllib3Error
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    AuthBase = object
    Urllib3Error = OSError
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.nirvana_labs.audit.plugins.module_utils.deadline import (
    Watchdog,
    WatchedAdapter,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    ApiError,
    AuthError,
    BadResponseError,
    InvalidOption,
    NotFoundError,
    RateLimitedError,
    TLSError,
    TransportError,
    UnsafeRedirectError,
    mask_secrets,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.version import COLLECTION_VERSION

DEFAULT_BASE_URL = "https://api.nirvanalabs.io"
# The official SDKs default to a 60 s timeout and 2 retries (contract, "Where and how").
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2

RETRYABLE_STATUSES = frozenset([408, 409, 429])
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server-given wait is honoured only below this, as the SDKs do; beyond it, back-off applies.
MAX_SERVER_WAIT = 60.0
MAX_RETRIES_LIMIT = 10
MAX_REDIRECTS = 5
MESSAGE_LIMIT = 200


class _BearerAuth(AuthBase):
    """Holds the key: the only place it lives. Being an auth object also stops requests from
    replacing the header with credentials from ~/.netrc."""

    def __init__(self, api_key):
        self.api_key = api_key

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self.api_key
        return request

    def __repr__(self):
        return "<bearer auth>"


def is_loopback(host):
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(url):
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def validate_base_url(base_url):
    """Normalise the base URL, or raise InvalidOption saying what is wrong with it."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidOption("base_url", "must be a URL such as %s" % DEFAULT_BASE_URL)
    base_url = base_url.strip().rstrip("/")
    try:
        parts = urlsplit(base_url)
        parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise InvalidOption("base_url", "%r is not a valid URL (%s)" % (base_url, err))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOption("base_url", "%r is not an http:// or https:// URL with a host"
                            % (base_url,))
    if parts.username or parts.password:
        raise InvalidOption("base_url", "must not contain credentials; use api_key")
    if parts.query or parts.fragment:
        raise InvalidOption("base_url", "must not contain a query or a fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidOption("base_url", "plain http:// is only allowed to a loopback address;"
                            " the API key would cross the network unencrypted. Use https://")
    return base_url


def encode_segment(value):
    """Percent-encode an id as exactly one path segment.

    ``quote`` with no safe characters encodes ``/``, ``?``, ``#`` and ``%``; a lone ``.`` or
    ``..`` would still be a dot-segment that URL normalisation removes, so those are refused.
    """
    if not isinstance(value, str) or not value:
        raise InvalidOption("id", "must be a non-empty string")
    if value in (".", ".."):
        raise InvalidOption("id", "%r is not an audit log id" % (value,))
    return quote(value, safe="")


def _short(text, limit=MESSAGE_LIMIT):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def message_from_body(response, scrub=mask_secrets):
    """A short, human message from an error body: JSON message/error/detail, an HTML page's
    title, or trimmed text. Never headers. ``scrub`` masks secrets in the whole text first,
    so shortening can never leave a prefix of one."""
    body = response.content or b""
    text = scrub(bytes(body[:ERROR_BODY_BYTES]).decode("utf-8", "replace"))
    if not text.strip():
        return "empty response body"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if isinstance(value, str) and value.strip():
                return _short(value)
            if isinstance(value, list) and value:
                return _short("; ".join(str(v) for v in value))
        return _short(text)
    if "html" in response.headers.get("Content-Type", "").lower() or text.lstrip().startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title and title.group(1).strip():
            return "HTML error page: %s" % _short(title.group(1))
        return "HTML error page"
    return _short(text)


# Decoded bytes a 2xx body may have: a page of 100 entries is about 100 KB, so this is
# generous, and bounds the memory a hostile body can take.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# What a new user needs after a TLS failure: the usual fixes, named as the options are.
TLS_HINT = (". If the server's certificate is signed by a private CA, set ca_path (or"
            " NIRVANA_LABS_CA_PATH) to that CA's PEM file; a local emulator without TLS is"
            " reached with an http:// base_url")
# Of an error or redirect body only a message is wanted: the rest is not read.
ERROR_BODY_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024
# The API's own path: a redirect that leaves it is not the API's answer.
API_PATH = "/v1/audit_logs"
# The body encodings we decode ourselves, under the cap; anything else is refused.
ACCEPT_ENCODING = "gzip, deflate"


class _NonStandardJSON(ValueError):
    pass


def _refuse_constant(name):
    raise _NonStandardJSON(name)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def decode_json(body, status):
    """The JSON value of a body, or a BadResponseError: only standard JSON in UTF-8 passes."""
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
        raise BadResponseError("the API answered HTTP %d with a body that is not JSON: %s"
                               % (status, _short(mask_secrets(text[:4096]), 80)))
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

    def __init__(self, encoding):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("", "identity"):
            self._zlib = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise BadResponseError("the API answered with Content-Encoding %r, which was not"
                                   " asked for (%s)" % (self.encoding, ACCEPT_ENCODING))
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


def read_body(raw, encoding, limit):
    """(decoded body, whole): read ``raw`` (a urllib3 response) until the end, or until more
    than ``limit`` decoded bytes arrived (then ``whole`` is False)."""
    decoder = _Decoder(encoding)
    body = bytearray()
    for chunk in raw.stream(_READ_CHUNK, decode_content=False):
        for piece in decoder.decode(chunk):
            body += piece
            if len(body) > limit:
                return body, False
    decoder.finish()
    return body, True


class _Reply(object):
    """What the retry loop needs of a response: status, headers and the capped body."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code, headers, content):
        self.status_code = status_code
        self.headers = headers
        self.content = content


def _valid_body_cap(value):
    if value is None:
        return DEFAULT_MAX_BODY_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        raise InvalidOption("max_body_bytes", "must be a whole number of bytes, at least 1024")
    return value


class Transport(object):
    """GET JSON from the API with the SDKs' retry policy. One Session, so one connection is
    reused across the pages of a scan."""

    def __init__(self, api_key, base_url=DEFAULT_BASE_URL, timeout=DEFAULT_TIMEOUT,
                 validate_certs=True, ca_path=None, max_retries=DEFAULT_MAX_RETRIES,
                 use_proxy=True, sleep=time.sleep, clock=time.time, rand=random.random,
                 user_agent=None, max_body_bytes=None):
        if not HAS_REQUESTS:
            raise TransportError("the Python library 'requests' is required")
        if not isinstance(api_key, str) or not api_key.strip():
            raise InvalidOption("api_key", "is required; set it or NIRVANA_LABS_API_KEY")
        if any(c in api_key for c in "\r\n\0"):
            raise InvalidOption("api_key", "contains a line break or NUL character")
        self.base_url = validate_base_url(base_url)
        try:
            self.timeout = float(timeout if timeout is not None else DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            raise InvalidOption("timeout", "must be a number of seconds")
        if not 0 < self.timeout <= 3600:
            raise InvalidOption("timeout", "must be more than 0 and at most 3600 seconds")
        if max_retries is None:
            max_retries = DEFAULT_MAX_RETRIES
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) \
                or not 0 <= max_retries <= MAX_RETRIES_LIMIT:
            raise InvalidOption("max_retries", "must be a whole number from 0 to %d"
                                % MAX_RETRIES_LIMIT)
        self.max_retries = max_retries
        self.max_body_bytes = _valid_body_cap(max_body_bytes)
        self.verify = bool(validate_certs) if validate_certs is not None else True
        if self.verify and ca_path:
            if not os.path.exists(ca_path):
                raise InvalidOption("ca_path", "%s does not exist" % ca_path)
            self.verify = ca_path
        elif self.verify:
            # What requests does with trust_env, done here because trust_env is off (below).
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or \
                os.environ.get("CURL_CA_BUNDLE") or True
        self._auth = _BearerAuth(api_key.strip())
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.use_proxy = bool(use_proxy) if use_proxy is not None else True
        self._user_agent = user_agent or "nirvana_labs.audit/%s (Ansible collection) " \
            "python-requests/%s" % (COLLECTION_VERSION, requests.__version__)
        self._open_session()
        self.requests_sent = 0
        self.waits = []
        self.gate = None  # a back-off shared with sibling transports (parallel slices)

    def _open_session(self):
        """A Session whose connections are watched by this transport's deadline watchdog."""
        self._watchdog = Watchdog()
        self.session = requests.Session()
        self.session.mount("http://", WatchedAdapter(self._watchdog))
        self.session.mount("https://", WatchedAdapter(self._watchdog))
        # Nothing is taken from the environment implicitly (proxies, ~/.netrc, CA bundle):
        # proxies are chosen per request by _proxies, the CA bundle in __init__.
        self.session.trust_env = False
        self.session.headers.update({
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": self._user_agent,
        })

    def close(self):
        self.session.close()
        self._watchdog.close()

    @property
    def clock(self):
        return self._clock

    @property
    def sleep(self):
        return self._sleep

    def sibling(self, gate=None):
        """A Transport with these settings and this key holder on its own Session (its own
        keep-alive connection), for one worker of a parallel read; the key is not copied.
        ``gate`` makes a wait seen by one sibling hold all of them."""
        twin = copy.copy(self)
        twin._open_session()  # its own connection and its own deadline watchdog
        twin.requests_sent = 0
        twin.waits = []
        twin.gate = self.gate = gate
        return twin

    # -- public -------------------------------------------------------------------------------

    def get_json(self, path, params=None):
        """GET base_url + path and return the decoded JSON body, or raise an AuditLogError."""
        response = self._request(self.base_url + path, params)
        return decode_json(response.content, response.status_code)

    # -- retries and redirects ----------------------------------------------------------------

    def _request(self, url, params):
        attempt = 0
        redirects = 0
        while True:
            try:
                response = self._send(url, params)
            except TLSError:
                raise  # a certificate problem fails the same way every time
            except TransportError as err:
                if attempt < self.max_retries:
                    self._wait(None, attempt)
                    attempt += 1
                    continue
                raise TransportError("%s (after %d attempt%s)" % (
                    err, attempt + 1, "" if attempt == 0 else "s"))
            status = response.status_code
            if 300 <= status < 400 and response.headers.get("Location"):
                url, params = self._follow(url, response.headers["Location"]), None
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise TransportError("more than %d redirects" % MAX_REDIRECTS)
                continue
            if 200 <= status < 300:
                return response
            if self._should_retry(response) and attempt < self.max_retries:
                self._wait(response, attempt)
                attempt += 1
                continue
            raise self._error(response, attempt)

    def _send(self, url, params):
        if self.gate is not None:
            self.gate.pass_through(self)
        self.requests_sent += 1
        self._watchdog.arm(self.timeout)
        try:
            with warnings.catch_warnings():
                if self.verify is False:
                    # The user turned verification off on purpose; do not nag on every request.
                    warnings.simplefilter("ignore")
                response = self.session.get(url, params=params, auth=self._auth,
                                            timeout=self.timeout, verify=self.verify,
                                            proxies=self._proxies(url), allow_redirects=False,
                                            stream=True)
                return self._read(response)
        except requests.exceptions.SSLError as err:
            raise TLSError("TLS with %s failed: %s%s" % (self._host(url), self._describe(err),
                                                         TLS_HINT))
        except (requests.exceptions.RequestException, Urllib3Error, HTTPException, OSError,
                ValueError) as err:
            if self._watchdog.fired or isinstance(err, (requests.exceptions.Timeout,
                                                        socket.timeout)):
                raise TransportError(
                    "no response from %s within %g s (timeout is a deadline for each attempt:"
                    " connection, headers and the whole body)"
                    % (self._host(url), self.timeout))
            raise TransportError("connection to %s failed: %s" % (
                self._host(url), self._describe(err)))
        finally:
            self._watchdog.disarm()

    def _read(self, response):
        """The response with its body read here, under the cap, where read errors are caught."""
        status = response.status_code
        limit = self.max_body_bytes if 200 <= status < 300 else ERROR_BODY_BYTES
        try:
            body, whole = read_body(response.raw, response.headers.get("Content-Encoding"),
                                    limit)
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
        return _Reply(status, response.headers, body)

    def _proxies(self, url):
        """The proxies for one request. Plain http (only ever to a loopback address, see
        validate_base_url) never goes through a proxy: a proxy would see the key in clear
        text, and a proxy for a loopback address is never what was meant, so it is bypassed
        rather than refused (a play-level ``environment:`` with HTTP_PROXY keeps working with
        a local gateway or the emulator). https goes through HTTPS_PROXY/ALL_PROXY unless
        NO_PROXY lists the host, and only when use_proxy is true: a CONNECT tunnel, so the
        proxy sees the host name, never the key."""
        if not self.use_proxy or urlsplit(url).scheme != "https":
            return {}
        found = requests.utils.get_environ_proxies(url)
        return dict((k, v) for k, v in found.items() if k in ("https", "all"))

    def _follow(self, url, location):
        target = urljoin(url, location)
        if _origin(target) != _origin(url):
            # Refused, not stripped: data from another origin is not the API's answer anyway.
            raise UnsafeRedirectError(
                "the server redirected to another host (%s); not followed, so the API key is"
                " never sent there" % self._host(target), status=None)
        api_path = urlsplit(self.base_url).path + API_PATH
        path = urlsplit(target).path
        segments = unquote(path).split("/")
        if not (path == api_path or path.startswith(api_path + "/")) \
                or "." in segments or ".." in segments:
            raise UnsafeRedirectError(
                "the server redirected to %s, outside the API's path %s; not followed (what is"
                " there is not the API's answer)" % (_short(mask_secrets(path), 80), api_path),
                status=None)
        return target

    @staticmethod
    def _should_retry(response):
        forced = response.headers.get("x-should-retry", "").strip().lower()
        if forced == "true":
            return True
        if forced == "false":
            return False
        return response.status_code in RETRYABLE_STATUSES or response.status_code >= 500

    def retry_delay(self, response, attempt):
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        server_wait = self._server_wait(response.headers) if response is not None else None
        if server_wait is not None:
            return server_wait
        delay = min(INITIAL_RETRY_DELAY * (2 ** attempt), MAX_RETRY_DELAY)
        return delay * (1 - self._rand() * 0.25)

    def _server_wait(self, headers):
        wait = None
        value = headers.get("retry-after-ms")
        if value:
            try:
                wait = float(value) / 1000.0
            except ValueError:
                wait = None
        if wait is None and headers.get("retry-after"):
            value = headers["retry-after"].strip()
            try:
                wait = float(value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    wait = when.timestamp() - self._clock()
                except (TypeError, ValueError, IndexError, OverflowError):
                    wait = None
        if wait is not None and 0 < wait < MAX_SERVER_WAIT:
            return wait
        return None

    def _wait(self, response, attempt):
        delay = self.retry_delay(response, attempt)
        self.waits.append(delay)
        if self.gate is not None:
            self.gate.hold(delay, self)
        self._sleep(delay)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, response, attempt):
        status = response.status_code
        detail = message_from_body(response, self._scrub)
        tried = "" if attempt == 0 else " (after %d attempts)" % (attempt + 1)
        if status in (401, 403):
            return AuthError("the API refused the API key (HTTP %d): %s%s" % (status, detail, tried),
                             status)
        if status == 404:
            return NotFoundError("not found (HTTP 404): %s" % detail, status)
        if status == 429:
            return RateLimitedError("rate limited (HTTP 429): %s%s" % (detail, tried), status)
        return ApiError("the API answered HTTP %d: %s%s" % (status, detail, tried), status)

    def _scrub(self, text):
        return mask_secrets(text, (self._auth.api_key,))

    def _describe(self, err):
        # The innermost reason, without the URL-and-retry preamble of urllib3's messages.
        reason = err
        while True:
            # requests wraps as (text, exception): ('Connection aborted.', RemoteDisconnected())
            inner = [a for a in getattr(reason, "args", ()) if isinstance(a, BaseException)]
            if not inner:
                break
            reason = inner[-1]
        inner = getattr(reason, "reason", None)
        if isinstance(inner, BaseException):
            reason = inner
        text = str(reason) or type(reason).__name__
        text = re.sub(r"<[^>]*object at 0x[0-9a-f]+>:?\s*", "", text)
        return _short(self._scrub(text), 160)

    @staticmethod
    def _host(url):
        parts = urlsplit(url)
        return parts.netloc.rsplit("@", 1)[-1]
