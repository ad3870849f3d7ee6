# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""10. The standby's take-over (issue 22): how long after the leader of a ``state_dsn`` key
dies a standby leads, against a real, throwaway PostgreSQL server (tests/pg_server.py).

Two ways a leader dies: its process is SIGKILLed (a subprocess holding the lease; its kernel
closes the socket, the server ends the session and the lock), and its session is terminated
(``pg_terminate_backend``, as an administrator or a network cut found out by keepalives does).
The standby retries every ``pg_lease.STANDBY_INTERVAL`` as the event source does; the time is
from the death to its successful ``lead()``. The stated bound for both is STANDBY_INTERVAL
plus a reconnect (``pg_lease.TAKEOVER_BOUND`` covers a vanished host).

It needs psycopg: ``run`` uses this Python when it has it, else the eda venv's
(scripts/venv.sh), running this file as a script that prints its figures as JSON.
"""

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LEADER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = %r
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
        PostgresStore)
    store = PostgresStore(%r, %r).open()
    assert store.lead() is not None
    print("LEADING", flush=True)
    time.sleep(600)
""")


def _collections_path():
    """A folder with ansible_collections/nirvana_labs/audit -> this checkout."""
    import tempfile
    base = tempfile.mkdtemp(prefix="bench-takeover-")
    os.makedirs(os.path.join(base, "ansible_collections", "nirvana_labs"))
    os.symlink(ROOT, os.path.join(base, "ansible_collections", "nirvana_labs", "audit"))
    return base


def _wait_to_lead(store, interval, tried):
    """Go on with a standby's schedule (an attempt every ``interval`` since ``tried``, its
    last failed one) until it leads; the monotonic time it did."""
    attempt = tried
    while True:
        attempt += interval
        time.sleep(max(0.0, attempt - time.monotonic()))
        try:
            if store.lead() is not None:
                return time.monotonic()
        except Exception:  # pylint: disable=broad-except
            pass


def _measure(reps):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    base = _collections_path()
    sys.path.insert(0, base)
    # pylint: disable=import-outside-toplevel
    from pg_server import PgServer
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller import pg_lease
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
        PostgresStore)
    killed, terminated = [], []
    with PgServer() as pg:
        for rep in range(reps):
            key = "bench:kill:%d" % rep
            leader = subprocess.Popen([sys.executable, "-c", LEADER % ([base], pg.dsn(), key)],
                                      stdout=subprocess.PIPE, universal_newlines=True)
            standby = PostgresStore(pg.dsn(), key).open()
            try:
                assert leader.stdout.readline().strip() == "LEADING"
                assert standby.lead() is None
                tried = time.monotonic()
                # The death falls anywhere in the standby's period, as in real life: spread.
                time.sleep(pg_lease.STANDBY_INTERVAL * (rep + 0.5) / reps)
                start = time.monotonic()
                leader.kill()
                leader.wait()
                killed.append(_wait_to_lead(standby, pg_lease.STANDBY_INTERVAL, tried) - start)
            finally:
                if leader.poll() is None:
                    leader.kill()
                standby.close()
            key = "bench:terminate:%d" % rep
            first, second = PostgresStore(pg.dsn(), key).open(), PostgresStore(pg.dsn(), key)
            try:
                first.lead()
                second.open()
                assert second.lead() is None
                tried = time.monotonic()
                time.sleep(pg_lease.STANDBY_INTERVAL * (rep + 0.5) / reps)
                start = time.monotonic()
                with pg.superuser() as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)",
                                  (first.lease.conn.info.backend_pid,))
                terminated.append(_wait_to_lead(second, pg_lease.STANDBY_INTERVAL, tried)
                                  - start)
            finally:
                first.close()
                second.close()
    return {
        "reps": reps,
        "standby_interval_s": pg_lease.STANDBY_INTERVAL,
        "bound_killed_s": pg_lease.STANDBY_INTERVAL,
        "bound_vanished_host_s": pg_lease.TAKEOVER_BOUND,
        "killed_median_s": round(statistics.median(killed), 2),
        "killed_max_s": round(max(killed), 2),
        "terminated_median_s": round(statistics.median(terminated), 2),
        "terminated_max_s": round(max(terminated), 2),
    }


def _python_with_psycopg():
    try:
        import psycopg  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
        return sys.executable
    except ImportError:
        pass
    venv = subprocess.run(["bash", "-c", "source scripts/venv.sh && audit_venv eda"], cwd=ROOT,
                          stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return os.path.join(venv.stdout.strip().splitlines()[-1], "bin", "python")


def run(ctx):
    reps = 3 if ctx.quick else 5
    python = _python_with_psycopg()
    out = subprocess.run([python, os.path.abspath(__file__), str(reps)], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
