# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP side: listeners, TLS, the admin API, and faults turned into bytes on the wire.

Two listeners share one ``Emulator``: ``main`` serves the API and ``/_emulator/``; ``redirect``
is the other origin that redirect faults send clients to. It answers like the API (no faults)
and records whether an Authorization header reached it, so a test can prove that none did.
"""

import email.utils
import ipaddress
import json
import math
import os
import secrets
import shutil
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from . import faults as faults_mod
from . import hostile
from .api import API_GENERATIONS, Api, error
from .data import Dataset
from .live import LiveEntries
from .query import Query, QueryError
from .stats import Stats

ADMIN_PREFIX = "/_emulator"
MAX_BODY = 1 << 20
_HTML = ("<!DOCTYPE html><html><head><title>{code} {reason}</title></head><body>"
         "<h1>{code} {reason}</h1><p>The upstream server is unavailable.</p>"
         "<hr><address>nginx</address></body></html>")
_EXTRA_ENTRY_FIELDS = {"request_id": "req_emulated", "metadata": {"source": "emulator", "tags": ["a"]}}


def _json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _connect_latency(ms):
    """Seconds each new connection waits before it is served, from milliseconds (None: 0)."""
    if ms is None:
        return 0.0
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= 60000:
        raise ValueError("connect_latency_ms must be a number of milliseconds from 0 to 60000")
    return ms / 1000.0


class RateLimiter(object):
    """Token bucket: ``rate`` requests per second, bursts up to ``max(1, rate)``."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self):
        """None if a request may pass, else the seconds until one may."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return None
            return (1.0 - self.tokens) / self.rate


class Plan(object):
    """Bytes to send and how: normally, or cut short by a transport fault."""

    __slots__ = ("status", "headers", "body", "action", "amount")

    def __init__(self, status, headers, body, action=None, amount=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.action = action    # None, "stall", "reset" or "truncate"
        self.amount = amount    # seconds for a stall, body bytes kept otherwise


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emulator, role, ssl_context):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.emulator = emulator
        self.role = role
        self.ssl_context = ssl_context
        ThreadingHTTPServer.__init__(self, address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (getfqdn): slow without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            # Handshake in the connection's own thread, so one slow client blocks no one.
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        # Clients that vanish or refuse our certificate are part of testing: count them.
        self.emulator.errors += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "audit-emulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually

    def setup(self):
        conn_id, generation = self.server.emulator.stats.accepted(self.server.role)
        self.conn = [conn_id, generation, False]
        # Small responses must not wait for the peer's delayed ACK (Nagle): 40 ms each.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        setup_cost = self.server.emulator.connect_latency
        if setup_cost:
            # What a new connection costs on a real network (a TLS handshake's round trips),
            # paid once per connection, before its first request is read.
            time.sleep(setup_cost)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        BaseHTTPRequestHandler.setup(self)

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.emulator.verbose:
            BaseHTTPRequestHandler.log_message(self, format, *args)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # ------------------------------------------------------------ plumbing

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return b""
        try:
            length = int(length or 0)
        except ValueError:
            length = MAX_BODY + 1
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        body = self._read_body()
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            rest = target.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        path, dummy, query = target.partition("?")
        if body is None:
            self._write(self._plan_answer(error(413, "too_large", "request body too large")))
            return
        if self.server.role == "main" and (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")):
            self._admin(path, query, body)
        elif self.server.role == "redirect":
            self._redirected(path, query, target)
        else:
            self._api(path, query, target)

    def _send(self, status, headers, body, length, close):
        """Status line, headers and ``body`` in one write; ``length`` is what is promised."""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        if close or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        data = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(data)

    def _write(self, plan):
        em = self.server.emulator
        if plan.action in hostile.STREAMED:
            self._write_streamed(plan)
            return
        if plan.action == "reset_now":
            self._reset()
            return
        if plan.action == "stall":
            em.sleep(plan.amount)
            self.close_connection = True
            return
        if plan.action is None:
            self._send(plan.status, plan.headers, plan.body, len(plan.body), False)
            return
        # Cut short: the headers promise the whole body, fewer bytes follow.
        self._send(plan.status, plan.headers, plan.body[:plan.amount], len(plan.body), True)
        if plan.action == "reset":
            self._reset()

    def _reset(self):
        # Linger 0 makes close() send RST instead of FIN.
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _write_streamed(self, plan):
        """A hostile plan (hostile.py): written piece by piece, each after its pause; a client
        that hangs up ends it."""
        self.send_response(plan.status)
        for name, value in plan.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(hostile.streamed_length(plan)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self._headers_buffer.append(b"\r\n")
        head = b"".join(self._headers_buffer)
        self._headers_buffer = []
        try:
            for pause, data in hostile.pieces(head, plan):
                if pause:
                    self.server.emulator.sleep(pause)
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _plan_answer(answer):
        headers = list(answer.headers)
        headers.append(("Content-Type", "application/json"))
        return Plan(answer.status, headers, _json_bytes(answer.body))

    # ----------------------------------------------------------------- API

    def _api(self, path, query, target):
        em = self.server.emulator
        cpu = time.thread_time()
        auth = self.headers.get("Authorization")
        wait = em.limiter.take() if em.limiter is not None else None
        if wait is not None:
            answer = error(429, "rate_limited", "too many requests",
                           [("Retry-After", str(max(1, int(math.ceil(wait)))))])
        else:
            answer = em.api.handle(self.command, path, hostile.unwrap_cursor(query), auth)
        delay, rule = em.faults.pick(self.command, path, target, answer.kind)
        plan = em.plan(answer, rule, target)
        # Recorded before any wait, so a request a test gave up on cannot turn up in the stats
        # of the next test. cpu_ms is this thread's CPU time: the request's own cost, however
        # busy the host is.
        extra = {"cpu_ms": round((time.thread_time() - cpu) * 1000.0, 3)}
        if delay:
            extra["latency_ms"] = round(delay * 1000.0, 1)
        em.stats.record("main", self.conn, self.command, target,
                        None if plan.action == "stall" else plan.status,
                        rule.kind if rule else None, auth, extra)
        if delay:
            em.sleep(delay)
        self._write(plan)

    def _redirected(self, path, query, target):
        em = self.server.emulator
        auth = self.headers.get("Authorization")
        plan = self._plan_answer(em.api.handle(self.command, path, query, auth))
        em.stats.record("redirect", self.conn, self.command, target, plan.status, None, auth,
                        {"authorization_received": bool(auth), "host": self.headers.get("Host")})
        self._write(plan)

    # --------------------------------------------------------------- admin

    def _admin(self, path, query, body):
        em = self.server.emulator
        try:
            loopback = ipaddress.ip_address(self.client_address[0].split("%")[0])
            if getattr(loopback, "ipv4_mapped", None):
                loopback = loopback.ipv4_mapped
            allowed = loopback.is_loopback
        except ValueError:
            allowed = False
        if not allowed:
            self._write(self._plan_answer(error(403, "forbidden", "the admin API is loopback only")))
            return
        name = path[len(ADMIN_PREFIX):].strip("/")
        method = self.command
        try:
            status, obj = em.admin(method, name, query, body)
        except faults_mod.FaultError as err:
            status, obj = 400, {"error": "invalid_faults", "message": str(err), "status": 400}
        except QueryError as err:
            status, obj = err.status, {"error": "validation_error", "message": err.message,
                                       "status": err.status}
        except ValueError as err:
            status, obj = 400, {"error": "bad_request", "message": str(err), "status": 400}
        self._write(Plan(status, [("Content-Type", "application/json")], _json_bytes(obj)))


def _json_body(body, what):
    try:
        return json.loads(body.decode("utf-8") or "null")
    except ValueError:
        raise ValueError("%s: the body must be JSON" % what)


class Emulator(object):
    """One emulated API: data, listeners, faults, stats. ``start()``, then ``stop()``."""

    def __init__(self, host="127.0.0.1", port=0, api_key=None, entries=10000, seed=0,
                 api="2026-08", tls=False, faults=None, rate_limit=None, now=None,
                 dataset=None, verbose=False, overrides=None, connect_latency_ms=None):
        if api not in API_GENERATIONS:
            raise ValueError("api must be one of %s" % ", ".join(API_GENERATIONS))
        self.host = host
        self.port = port
        self.api_key = api_key or "emu_" + secrets.token_urlsafe(24)
        self.dataset = dataset if dataset is not None else Dataset(seed=seed, entries=entries, now=now,
                                                                   overrides=overrides)
        self.live = LiveEntries(self.dataset)
        self.api = Api(self.dataset, self.api_key, api, live=self.live)
        self.tls = tls
        self.faults = faults_mod.FaultSet(faults or [], seed=self.dataset.seed)
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.connect_latency = _connect_latency(connect_latency_ms)
        self.stats = Stats()
        self.verbose = verbose
        self.errors = 0
        self.ca_path = None
        self._tmpdir = None
        self._servers = []
        self._threads = []
        self._stopping = threading.Event()

    # ----------------------------------------------------------- lifecycle

    def _ssl_context(self):
        import trustme  # pylint: disable=import-outside-toplevel
        ca = trustme.CA()
        names = ["127.0.0.1", "localhost", "::1"]
        if self.host not in names and self.host not in ("0.0.0.0", "::"):
            names.append(self.host)
        cert = ca.issue_cert(*names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        self._tmpdir = tempfile.mkdtemp(prefix="audit-emulator-")
        self.ca_path = os.path.join(self._tmpdir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        return ctx

    def start(self):
        # The sort helpers of a large data set take a moment to build: do it now, beside the
        # first requests, rather than inside the first sorted one.
        threading.Thread(target=self.dataset.warm, name="emulator-warm", daemon=True).start()
        ctx = self._ssl_context() if self.tls else None
        for role, port in (("main", self.port), ("redirect", 0)):
            server = _Server((self.host, port), self, role, ctx)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name="emulator-%s" % role, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self):
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def sleep(self, seconds):
        """Wait, but end early when the emulator stops."""
        self._stopping.wait(seconds)

    # ------------------------------------------------------------- addresses

    def _url(self, host, port):
        scheme = "https" if self.tls else "http"
        if ":" in host:
            host = "[%s]" % host
        return "%s://%s:%d" % (scheme, host, port)

    @property
    def url(self):
        return self._url(self._public_host(), self._servers[0].server_address[1])

    @property
    def redirect_url(self):
        return self._url(self._public_host(), self._servers[1].server_address[1])

    def _public_host(self):
        if self.host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if self.host == "::":
            return "::1"
        return self.host

    def other_host_url(self):
        """The redirect listener under another host name (localhost <-> 127.0.0.1)."""
        host = self._public_host()
        alt = "127.0.0.1" if host == "localhost" else "localhost"
        return self._url(alt, self._servers[1].server_address[1])

    def info(self):
        return {
            "url": self.url,
            "api_key": self.api_key,
            "ca_path": self.ca_path,
            "pid": os.getpid(),
            "now": self.dataset.now_text,
            "seed": self.dataset.seed,
            "entries": self.dataset.size,
            "api": self.api.generation,
            "redirect_url": self.redirect_url,
            "admin_url": self.url + ADMIN_PREFIX,
        }

    def config(self):
        return {
            "seed": self.dataset.seed,
            "entries": self.dataset.size,
            "now": self.dataset.now_text,
            "api": self.api.generation,
            "rate_limit": self.limiter.rate if self.limiter else None,
            "connect_latency_ms": round(self.connect_latency * 1000.0, 3),
            "tls": self.tls,
            "url": self.url,
            "redirect_url": self.redirect_url,
        }

    # ---------------------------------------------------------------- faults

    def plan(self, answer, rule, target):
        """The bytes for an API answer, after the fault ``rule`` (or None) had its way."""
        kind = rule.kind if rule else None
        p = rule.params if rule else {}
        if kind in hostile.KINDS:
            return hostile.plan(self, answer, rule, target,
                                Handler._plan_answer, Plan)  # pylint: disable=protected-access
        if kind == "reset" and p["before_status"]:
            return Plan(None, [], b"", "reset_now")
        if kind in ("status", "rate_limit"):
            return self._status_plan(429 if kind == "rate_limit" else p["status"], p)
        if kind == "redirect":
            base = {"other_port": self.redirect_url, "self": self.url,
                    "other_host": self.other_host_url()}.get(p["to"], p["to"].rstrip("/"))
            location = base + (p["location"] or target)
            return Plan(p["status"], [("Location", location), ("Content-Type", "application/json")],
                        _json_bytes({"message": "moved", "location": location}))
        if kind == "stall":
            return Plan(None, [], b"", "stall", p["seconds"])
        if kind == "invalid_json":
            return Plan(200, [("Content-Type", "application/json")], p["body"].encode("utf-8"))
        if kind == "extra_fields":
            self._add_fields(answer, p["fields"])
        elif kind in ("cursor_loop", "duplicate", "empty_page", "wrong_total"):
            self._rewrite_page(answer, kind, p)
        plan = Handler._plan_answer(answer)  # pylint: disable=protected-access
        if kind == "reset":
            plan.action = "reset"
            plan.amount = len(plan.body) // 2 if p["after_bytes"] is None else p["after_bytes"]
        elif kind == "truncate":
            plan.action = "truncate"
            plan.amount = len(plan.body) // 2 if p["keep_bytes"] is None else p["keep_bytes"]
            plan.amount = min(plan.amount, max(0, len(plan.body) - 1))
        return plan

    @staticmethod
    def _status_plan(status, p):
        reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
        headers = []
        if p.get("retry_after") is not None:
            headers.append(("Retry-After", "%g" % p["retry_after"]))
        if p.get("retry_after_date") is not None:
            headers.append(("Retry-After", email.utils.formatdate(time.time() + p["retry_after_date"],
                                                                  usegmt=True)))
        if p.get("retry_after_ms") is not None:
            headers.append(("Retry-After-Ms", "%g" % p["retry_after_ms"]))
        if p.get("should_retry") is not None:
            headers.append(("x-should-retry", "true" if p["should_retry"] else "false"))
        body_kind = p.get("body", "json")
        message = p.get("message") or reason
        if body_kind == "json":
            headers.append(("Content-Type", "application/json"))
            body = _json_bytes({"error": reason.lower().replace(" ", "_"), "message": message,
                                "status": status})
        elif body_kind == "html":
            headers.append(("Content-Type", "text/html; charset=utf-8"))
            body = _HTML.format(code=status, reason=reason).encode("utf-8")
        elif body_kind == "text":
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            body = ("%d %s: %s" % (status, reason, message)).encode("utf-8")
        else:
            body = b""
        if status < 200 or status in (204, 304):
            # These statuses never carry a body (RFC 9110); sending one would break framing.
            headers = [h for h in headers if h[0] != "Content-Type"]
            body = b""
        names = set(k.lower() for k in (p.get("headers") or {}))
        headers = [h for h in headers if h[0].lower() not in names]
        headers.extend((str(k), str(v)) for k, v in (p.get("headers") or {}).items())
        return Plan(status, headers, body)

    @staticmethod
    def _add_fields(answer, fields):
        extra = fields if fields is not None else _EXTRA_ENTRY_FIELDS
        items = answer.body["items"] if answer.page is not None else [answer.body]
        for item in items:
            item.update(extra)
            if fields is None:
                item["actor"]["email"] = None
                if item.get("target"):
                    item["target"]["region"] = "us-sea-1"
        if answer.page is not None and fields is None:
            answer.body["object"] = "list"
            answer.body["pagination"]["limit"] = answer.page.limit

    def _rewrite_page(self, answer, kind, p):
        page, pagination = answer.page, answer.body["pagination"]
        codec = self.api.codec
        if kind == "cursor_loop":
            pagination["next_cursor"] = codec.encode(page.offset, page.binding)
        elif kind == "duplicate":
            # The next page starts with this page's last entry.
            count = len(answer.body["items"])
            pagination["next_cursor"] = codec.encode(page.offset + count - 1, page.binding)
        elif kind == "empty_page":
            # A fresh cursor to the same entries, as a filtering server that skipped a
            # segment would send (a cursor equal to the request's would be a loop).
            answer.body["items"] = []
            pagination["next_cursor"] = hostile.AGAIN_PREFIX + codec.encode(page.offset,
                                                                            page.binding)
        elif kind == "wrong_total":
            pagination["total_count"] = page.total + p["delta"]

    # ----------------------------------------------------------------- admin

    def admin(self, method, name, query, body):
        """(status, JSON object) for an admin request; ``name`` is the path after /_emulator/."""
        routes = {
            "": ("GET",), "config": ("GET", "PUT"), "stats": ("GET",), "reset": ("POST",),
            "faults": ("GET", "PUT", "DELETE"), "truth": ("GET",), "entries": ("POST",),
        }
        if name not in routes:
            return 404, {"error": "not_found", "message": "no admin endpoint %r" % name, "status": 404}
        if method not in routes[name]:
            return 405, {"error": "method_not_allowed", "message": "allowed: %s" % ", ".join(routes[name]),
                         "status": 405}
        if name == "":
            return 200, {"endpoints": ["%s/%s" % (ADMIN_PREFIX, n) for n in sorted(routes) if n]}
        if name == "config":
            if method == "PUT":
                self._update_config(body)
            return 200, self.config()
        if name == "stats":
            snap = self.stats.snapshot()
            snap["errors"] = self.errors
            return 200, snap
        if name == "reset":
            self.stats.reset()
            self.faults.replace([])
            if self.limiter is not None:
                self.limiter = RateLimiter(self.limiter.rate)
            self.errors = 0
            return 200, {"reset": True}
        if name == "faults":
            if method == "PUT":
                self.faults.replace(faults_mod.loads(body.decode("utf-8") or "[]"))
            elif method == "DELETE":
                self.faults.replace([])
            return 200, {"faults": self.faults.describe()}
        if name == "entries":
            return 201, {"items": self.live.add(_json_body(body, "entries"))}
        return 200, self._truth(query)

    def _update_config(self, body):
        try:
            changes = json.loads(body.decode("utf-8") or "{}")
        except ValueError:
            raise ValueError("config must be a JSON object")
        if not isinstance(changes, dict) \
                or set(changes) - {"rate_limit", "api", "connect_latency_ms"}:
            raise ValueError("config accepts only rate_limit, api and connect_latency_ms")
        if "connect_latency_ms" in changes:
            self.connect_latency = _connect_latency(changes["connect_latency_ms"])
        if "api" in changes:
            self.api = Api(self.dataset, self.api_key, changes["api"], live=self.live)
        if "rate_limit" in changes:
            rate = changes["rate_limit"]
            if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                     or rate <= 0):
                raise ValueError("rate_limit must be a positive number or null")
            self.limiter = RateLimiter(rate) if rate else None

    def _truth(self, query):
        params = parse_qs(query, keep_blank_values=True)
        ids_only = params.pop("ids_only", ["false"])[0].lower() in ("1", "true", "yes")
        params.pop("limit", None)
        params.pop("cursor", None)
        q, dummy, dummy = Query.from_params(params, "2026-08")
        sel = self.dataset.indices(q)
        out = {"total_count": len(sel)}
        if len(self.live):  # entries added while running are part of the truth
            items, out["total_count"] = self.live.page(q, sel, 0, len(sel) + len(self.live))
        elif ids_only:
            out["ids"] = [self.dataset.entry_id(int(i)) for i in sel]
            return out
        else:
            items = [e for start in range(0, len(sel), 1000)
                     for e in self.dataset.render(sel[start:start + 1000])]
        if ids_only:
            out["ids"] = [e["id"] for e in items]
        else:
            out["items"] = items
        return out
