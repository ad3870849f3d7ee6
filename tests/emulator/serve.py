# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the audit-log API emulator until SIGTERM or SIGINT.

    python tests/emulator/serve.py [--port 0] [--entries 10000] [--seed 0] [--tls] ...

When it listens it prints one JSON line on stdout (url, api_key, ca_path, pid, and more), so
a test, demo or benchmark can start it as a subprocess and read where it is. See README.md.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from audit_emulator import faults as faults_mod  # noqa: E402 pylint: disable=wrong-import-position
from audit_emulator import overrides as overrides_mod  # noqa: E402 pylint: disable=wrong-import-position
from audit_emulator.api import API_GENERATIONS  # noqa: E402 pylint: disable=wrong-import-position
from audit_emulator.server import Emulator  # noqa: E402 pylint: disable=wrong-import-position


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Local emulator of the Nirvana Labs audit-log API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--api-key", help="the accepted API key (default: a random one, printed)")
    parser.add_argument("--entries", type=int, default=10000, help="number of entries (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="data and fault seed (default 0)")
    parser.add_argument("--api", choices=API_GENERATIONS, default="2026-08",
                        help="API generation: seed (cursor and limit only) or 2026-08 (default)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    parser.add_argument("--faults", metavar="FILE", help="fault rules, JSON or YAML")
    parser.add_argument("--rate-limit", type=float, metavar="RPS",
                        help="answer 429 with Retry-After beyond this many requests per second")
    parser.add_argument("--connect-latency", type=float, metavar="MS",
                        help="delay before a new connection is served (a handshake's round"
                             " trips), in milliseconds")
    parser.add_argument("--now", metavar="RFC3339",
                        help="end of the data window (default: start-up time, whole seconds)")
    parser.add_argument("--entry-overrides", metavar="FILE",
                        help="JSONL of {\"index\": N, field: value, ...}: values served instead of"
                             " the generated ones in entry N (0 = newest)")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)
    if args.entries < 0 or args.seed < 0:
        parser.error("--entries and --seed must be >= 0")
    if args.rate_limit is not None and args.rate_limit <= 0:
        parser.error("--rate-limit must be > 0")
    if args.connect_latency is not None and not 0 <= args.connect_latency <= 60000:
        parser.error("--connect-latency must be from 0 to 60000 milliseconds")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    rules = []
    try:
        if args.faults:
            rules = faults_mod.load(args.faults)
            faults_mod.parse_rules(rules)
        overrides = (overrides_mod.load(args.entry_overrides, args.entries)
                     if args.entry_overrides else None)
        emulator = Emulator(host=args.host, port=args.port, api_key=args.api_key,
                            entries=args.entries, seed=args.seed, api=args.api, tls=args.tls,
                            faults=rules, rate_limit=args.rate_limit, now=args.now,
                            connect_latency_ms=args.connect_latency,
                            verbose=args.verbose, overrides=overrides)
        emulator.start()
    except (OSError, ValueError) as err:
        sys.stderr.write("serve.py: %s\n" % err)
        return 2

    stop = threading.Event()

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write(json.dumps(emulator.info()) + "\n")
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
