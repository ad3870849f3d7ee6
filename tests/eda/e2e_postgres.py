# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end test of the event source with its checkpoint in PostgreSQL (``state_dsn``),
with the real ansible-rulebook and a real, throwaway PostgreSQL server (tests/pg_server.py).

    python tests/eda/e2e_postgres.py --work DIR     # with the eda venv's python (psycopg)

Against the emulator, entries added while the sources run, every ansible-rulebook started in a
fresh working directory (no file survives from one run to the next):

a. state lost: a run stopped, entries added meanwhile, a new run in a new directory: it resumes
   from the database, no gap, no duplicate;
b. two runs on one key: one delivers, the other logs "standby"; the leader is SIGKILLed (once
   what it was given is printed: without feedback, events queued in a killed ansible-rulebook
   are lost with it), the standby takes over (the time is printed), no gap, no duplicate;
c. PostgreSQL stopped mid-run, entries added, started again: the source warns, waits, resumes,
   no loss;
d. a wrong password in the DSN: a clear error at start, the password nowhere in the output.

Prints the counts per scenario (added, delivered, duplicates, misses) and one line
``eda-postgres: ...; OK`` (exits 1 when a check fails).
"""

import argparse
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import e2e  # noqa: E402  the helpers of the file-state end-to-end test
from e2e import MATCHING, Emulator, Rulebook, log, read, seen  # noqa: E402
from pg_server import PgServer  # noqa: E402

# The bound pg_lease states for a killed leader process: STANDBY_INTERVAL (2 s) and a reconnect.
KILLED_LEADER_BOUND = 2.0
WRONG_PASSWORD = "Wr0ng-e2e-Passw0rd"


class Run(object):
    """The whole run: one emulator, one database, the rulebooks, every event printed."""

    def __init__(self, work, collections, emulator, pg):
        self.work, self.emulator, self.pg = work, emulator, pg
        self.env = e2e.rulebook_env(collections, emulator)
        self.env["PGPASSWORD"] = pg_password()
        self.dsn = "host=127.0.0.1 port=%d dbname=audit user=audit" % pg.port
        self.rulebooks = []

    def start(self, name, dsn=None, env=None):
        folder = os.path.join(self.work, name)  # a fresh working directory each time
        os.makedirs(folder)
        with open(os.path.join(folder, "inventory.yml"), "w") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n" % sys.executable)
        rulebook = Rulebook(folder, name, "postgres.yml", env or self.env,
                            {"state_dsn": dsn or self.dsn})
        self.rulebooks.append(rulebook)
        return rulebook

    def delivered(self):
        return [event for rb in self.rulebooks for event in seen(rb.text())]

    def add(self, count, pause=0.5):
        ids = []
        for dummy in range(count):
            ids.append(self.emulator.add(MATCHING)[0]["id"])
            time.sleep(pause)
        return ids

    def wait_seen(self, ids, timeout=90):
        return e2e.wait_seen(self.delivered, ids, timeout)

    def counts(self, name, ids):
        delivered = [i for i, dummy in self.delivered() if i in set(ids)]
        duplicates = len(delivered) - len(set(delivered))
        misses = len(set(ids) - set(delivered))
        print("scenario %s: added %d, delivered %d, duplicates %d, misses %d"
              % (name, len(ids), len(delivered), duplicates, misses), flush=True)
        return duplicates == 0 and misses == 0


def pg_password():
    import pg_server
    return pg_server.PASSWORD


def scenario_state_lost(run):
    log("a: state lost (a fresh working directory, no state file)")
    first = run.start("a1")
    first.wait_for(r"audit_log: starting from", 120)
    ids = run.add(4)
    ok = run.wait_seen(ids)
    log("a: stopping the first run (SIGTERM): exit status %s" % first.stop())
    ids += run.add(3)
    second = run.start("a2")
    second.wait_for(r"audit_log: resuming from", 120)
    ids += run.add(3)
    ok = run.wait_seen(ids) and ok
    time.sleep(3)  # a few more polls: nothing may come twice
    return run.counts("a (state lost)", ids) and ok, second


def scenario_standby(run, leader):
    log("b: two runs on one key, the leader SIGKILLed")
    standby = run.start("b1")
    standby.wait_for(r"standby for key audit_log:", 120)
    ids = run.add(4)
    ok = run.wait_seen(ids)
    only_one = not any(i in set(ids) for i, dummy in seen(standby.text()))
    if not only_one:
        log("b: FAILED: the standby delivered while the leader ran")
    killed = time.time()
    leader.process.send_signal(signal.SIGKILL)
    leader.process.wait()
    standby.wait_for(r"took over key audit_log:", 120)
    took = time.time() - killed
    log("b: take-over %.2f s after SIGKILL (stated bound: %.0f s for a killed process)"
        % (took, KILLED_LEADER_BOUND))
    ids += run.add(4)
    ok = run.wait_seen(ids) and ok
    time.sleep(3)
    # Order of magnitude only: the bound plus a loaded machine's scheduling.
    in_bound = took < 10 * KILLED_LEADER_BOUND
    return run.counts("b (standby takes over)", ids) and ok and only_one and in_bound, \
        standby, took


def scenario_db_restart(run, leader):
    log("c: PostgreSQL stopped mid-run, entries added, started again")
    ids = run.add(2)
    ok = run.wait_seen(ids)
    run.pg.stop()
    ids += run.add(3, pause=1)
    leader.wait_for(r"audit_log: .*state database.*not sending", 60)
    time.sleep(2)
    run.pg.start()
    ids += run.add(2)
    ok = run.wait_seen(ids) and ok
    leader.wait_for(r"the state database is back", 60)
    time.sleep(3)
    return run.counts("c (database restarted)", ids) and ok


def scenario_wrong_password(run):
    log("d: a wrong password in the DSN")
    env = dict(run.env)
    del env["PGPASSWORD"]
    dsn = "postgresql://audit:%s@127.0.0.1:%d/audit" % (WRONG_PASSWORD, run.pg.port)
    wrong = run.start("d1", dsn=dsn, env=env)
    wrong.wait_for(r"state_dsn: cannot connect to the state database", 120)
    clear = "password authentication failed" in wrong.text()
    wrong.stop()
    hidden = WRONG_PASSWORD not in wrong.text()
    print("scenario d (wrong password): clear error %s, password hidden %s" % (clear, hidden))
    return clear and hidden


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--work", required=True, help="a scratch folder (emptied)")
    args = parser.parse_args()
    e2e.java_home()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    started = time.time()
    collections = e2e.install_collection(work)
    failures, took = [], None
    with PgServer() as pg:
        emulator = Emulator(work)
        run = Run(work, collections, emulator, pg)
        try:
            emulator.add(MATCHING, MATCHING)  # older than the first start: never sent
            older = [i for i, dummy in emulator.added]
            time.sleep(1.5)
            ok, leader = scenario_state_lost(run)
            failures += ["state lost"] * (not ok)
            ok, leader, took = scenario_standby(run, leader)
            failures += ["standby"] * (not ok)
            failures += ["database restart"] * (not scenario_db_restart(run, leader))
            failures += ["wrong password"] * (not scenario_wrong_password(run))
            every = [i for i, dummy in emulator.added if i not in older]
            all_ok = run.counts("all", every)
            failures += ["totals"] * (not all_ok)
            failures += ["older entries sent"] * any(
                i in older for i, dummy in run.delivered())
            outputs = [rb.text() for rb in run.rulebooks] + [read(emulator.stderr.name)]
            failures += ["API key leaked"] * any(emulator.api_key in t for t in outputs)
            failures += ["database password leaked"] * any(
                pg_password() in t or WRONG_PASSWORD in t for t in outputs)
        finally:
            for rulebook in run.rulebooks:
                if rulebook.process.poll() is None:
                    rulebook.process.kill()
            emulator.stop()
    added = len(emulator.added) - 2
    delivered = run.delivered()
    print("eda-postgres wall time: %ds" % (time.time() - started))
    print("eda-postgres: %d added, %d delivered, %d duplicates, %d misses; take-over %s%s" % (
        added, len(delivered), len(delivered) - len(set(i for i, d in delivered)),
        len(set(i for i, d in emulator.added[2:]) - set(i for i, d in delivered)),
        "%.2fs" % took if took is not None else "not measured",
        "; FAILED: %s" % ", ".join(failures) if failures else "; OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
