# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start tests/emulator/serve.py with TCP_NODELAY on every accepted connection.

The emulator writes a response's headers and its body in two send() calls. Without
TCP_NODELAY, Nagle's algorithm holds the body until the client acknowledges the headers, and
a client in delayed-ACK mode waits up to 40 ms to do that: about one request in many
connections then takes 40+ ms longer, and a 25 ms latency benchmark measures the kernel
instead of the client. Real API front ends (nginx, Go) set TCP_NODELAY, so the benchmark does
too. Usage: the same arguments as serve.py. BENCH_EMULATOR_AS_IS=1 (read by the driver) runs
serve.py unchanged instead.
"""

import os
import runpy
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_DIR = os.path.join(os.path.dirname(HERE), "tests", "emulator")


def _patch():
    """Wrap the emulator's accept; True when it was possible."""
    sys.path.insert(0, EMULATOR_DIR)
    try:
        from audit_emulator import server  # pylint: disable=import-outside-toplevel
    except ImportError:
        return False
    listener = getattr(server, "_Server", None)
    original = getattr(listener, "get_request", None)
    if original is None:
        return False

    def get_request(self):
        sock, addr = original(self)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    listener.get_request = get_request
    return True


if __name__ == "__main__":
    if not _patch():
        sys.stderr.write("serve_emulator: could not set TCP_NODELAY; serving unchanged\n")
    serve = os.path.join(EMULATOR_DIR, "serve.py")
    sys.argv[0] = serve
    runpy.run_path(serve, run_name="__main__")
