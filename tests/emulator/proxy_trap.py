# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A proxy trap: a loopback HTTP "proxy" that forwards nothing and records what reaches it.

Point HTTP_PROXY / HTTPS_PROXY / ALL_PROXY at it to prove what a client sends to a proxy:
every request (a plain-http request in absolute form, or a CONNECT for https) is recorded
with its method, target and whether it carried an Authorization header and the key itself,
then answered ``502``. Use it from Python (``ProxyTrap().start()``) or from the shell:
``python proxy_trap.py [--port 0] [--secret KEY]`` prints one JSON line with its ``url`` and
writes every record as a JSON line to ``--log FILE`` when given. Loopback only.
"""

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _trap(self):
        trap = self.server.trap
        auth = self.headers.get("Authorization") or self.headers.get("Proxy-Authorization") or ""
        raw = "%s %s\n%s" % (self.command, self.path, self.headers)
        trap.record({
            "method": self.command,
            "target": self.path,
            "authorization": bool(auth),
            "secret_seen": bool(trap.secret) and trap.secret in raw,
        })
        body = b'{"error": "proxy_trap", "message": "this proxy forwards nothing"}'
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_CONNECT = _trap


class ProxyTrap(object):
    """``start()``, point a client at ``url``, read ``records``, ``stop()``."""

    def __init__(self, host="127.0.0.1", port=0, secret=None, log=None):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the proxy trap listens on loopback only")
        self.secret = secret
        self.records = []
        self._log = log
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.trap = self
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def record(self, entry):
        with self._lock:
            self.records.append(entry)
            if self._log:
                with open(self._log, "a") as handle:
                    handle.write(json.dumps(entry) + "\n")

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", help="a value whose presence in a request is recorded")
    parser.add_argument("--log", help="append every record as a JSON line to this file")
    args = parser.parse_args(argv)
    trap = ProxyTrap(args.host, args.port, args.secret, args.log)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *dummy: stop.set())
    signal.signal(signal.SIGINT, lambda *dummy: stop.set())
    trap.start()
    sys.stdout.write(json.dumps({"url": trap.url, "log": args.log}) + "\n")
    sys.stdout.flush()
    stop.wait()
    trap.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
