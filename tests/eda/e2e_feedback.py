# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end test of acknowledged delivery (issue 22) with the real ansible-rulebook.

    python tests/eda/e2e_feedback.py --work DIR     # with the eda venv's python

ansible-rulebook runs with ``--persistence-id`` (so it gives the source its feedback queue),
the source with ``feedback: true`` and a state file, against the emulator (the helpers of
``e2e.py``). The whole process group is killed with SIGKILL, as a container dies:

a. while events are queued: a burst of entries, killed once a few were processed;
b. while an action runs: an entry whose rule runs a slow playbook, killed while it runs.

After each kill ansible-rulebook is restarted with the same state file. Checked: no entry is
lost, and every entry the rules saw twice is one that was not recorded as acknowledged when
the kill came (the state file read right after it). An entry acknowledged whose printing
action had not run when the kill came is counted apart (ansible-rulebook acknowledges once
the rules matched, before the actions run: such an action is not run again). Prints the counts
per scenario and one line ``eda-feedback: ...`` (exit 1 on failure).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from e2e import (  # noqa: E402 pylint: disable=wrong-import-position
    EVENT_LINE,
    MATCHING,
    Emulator,
    install_collection,
    java_home,
    log,
    read,
    rulebook_env,
)

SLOW = dict(MATCHING, action="vm.stopped")


class Rulebook(object):
    """ansible-rulebook with --persistence-id, in its own process group (killed whole)."""

    def __init__(self, work, name, env, variables):
        self.output = os.path.join(work, "%s.log" % name)
        vars_file = os.path.join(work, "%s-vars.json" % name)
        with open(vars_file, "w") as handle:
            json.dump(variables, handle)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-rulebook")
        with open(self.output, "w") as out:
            self.process = subprocess.Popen(
                [binary, "--rulebook", os.path.join(HERE, "rulebooks", "feedback.yml"), "-i",
                 os.path.join(work, "inventory.yml"), "--vars", vars_file, "-v",
                 "--persistence-id", "e2e-feedback"],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work,
                start_new_session=True)

    def printed(self):
        return EVENT_LINE.findall(read(self.output))

    def wait_for(self, pattern, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pattern in read(self.output):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        sys.exit("eda-feedback: FAILED: ansible-rulebook did not log %r within %ds; its output:"
                 " %s" % (pattern, timeout, self.output))

    def kill(self):
        """SIGKILL to the whole group: ansible-rulebook, its JVM, a running playbook."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()


def recorded(state):
    """The ids the state file holds as delivered (acknowledged): snapshot and journal."""
    ids = set()
    text = read(state)
    if text:
        ids.update(item["id"] for item in json.loads(text)["sent"])
    for line in read(state + ".journal").split("\n")[:-1]:
        ids.add(json.loads(line)[0])
    return ids


def wait_until(condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


class Scenario(object):
    def __init__(self, name):
        self.name = name
        self.added = []
        self.before = []      # ids printed before the kill
        self.acked = set()    # recorded as acknowledged when the kill came
        self.after = []       # ids printed after the restart

    def check(self):
        printed = self.before + self.after
        counts = dict((i, printed.count(i)) for i in set(printed))
        duplicates = sorted(i for i, c in counts.items() if c > 1)
        cut = sorted(set(self.added) & self.acked - set(printed))  # action cut by the kill
        misses = sorted(set(self.added) - set(printed) - set(cut))
        wrong = sorted(i for i in duplicates if i in self.acked)
        unacked = sorted(set(self.before) - self.acked)
        print("scenario %s: added %d, delivered %d (before the kill %d, after %d), duplicates %d"
              " (processed, acknowledgement not recorded at the kill: %d), misses %d,"
              " acknowledged with the action cut by the kill %d"
              % (self.name, len(self.added), len(printed), len(self.before), len(self.after),
                 len(duplicates), len(unacked), len(misses), len(cut)))
        failures = ["%s: misses %s" % (self.name, misses)] * bool(misses)
        failures += ["%s: duplicates of acknowledged entries %s" % (self.name, wrong)] * bool(wrong)
        failures += ["%s: repeated within one run" % self.name] * (
            len(set(self.before)) != len(self.before) or len(set(self.after)) != len(self.after))
        return failures, len(duplicates), len(misses)


def kill_and_look(rulebook, scenario, state):
    rulebook.kill()
    scenario.before = [i for i, dummy in rulebook.printed() if i in scenario.added]
    scenario.acked = recorded(state)
    log("%s: SIGKILL; %d printed before it, %d of the scenario's recorded as acknowledged" % (
        scenario.name, len(scenario.before), len(set(scenario.added) & scenario.acked)))


# long: three runs of ansible-rulebook and two kills, in sequence
def run(work, burst):
    collections = install_collection(work)
    emulator = Emulator(work)
    rulebooks = []
    try:
        with open(os.path.join(work, "inventory.yml"), "w") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n" % sys.executable)
        state = os.path.join(work, "audit_log.state")
        marker = os.path.join(work, "slow-started")
        env = rulebook_env(collections, emulator)
        variables = {"state_file": state, "marker": marker,
                     "slow_playbook": os.path.join(HERE, "slow.yml")}

        def start(name):
            rulebook = Rulebook(work, name, env, variables)
            rulebooks.append(rulebook)
            rulebook.wait_for("audit_log: %s from" % (
                "starting" if len(rulebooks) == 1 else "resuming"), 120)
            return rulebook

        first = start("rulebook-1")
        emulator.wait_for_requests(2, 60)
        a = Scenario("a (killed with events queued)")
        del emulator.added[:]
        emulator.add(*[MATCHING] * burst)
        a.added = [i for i, dummy in emulator.added]
        wait_until(lambda: len([i for i, dummy in first.printed() if i in a.added]) >= 5, 60)
        kill_and_look(first, a, state)

        second = start("rulebook-2")
        wait_until(lambda: set(a.added) <= set(i for i, d in first.printed() + second.printed())
                   | a.acked, 90)
        a.after = [i for i, dummy in second.printed() if i in a.added]

        b = Scenario("b (killed while an action runs)")
        del emulator.added[:]
        emulator.add(SLOW)
        emulator.add(*[MATCHING] * 5)
        b.added = [i for i, dummy in emulator.added]
        if not wait_until(lambda: os.path.exists(marker), 90):
            sys.exit("eda-feedback: FAILED: the slow playbook never started")
        emulator.add(*[MATCHING] * 5)
        b.added = [i for i, dummy in emulator.added]
        time.sleep(1.5)
        b_base = len(second.printed())
        kill_and_look(second, b, state)
        b.before = [i for i, dummy in first.printed() + second.printed() if i in b.added]
        del b_base

        third = start("rulebook-3")
        wait_until(lambda: set(b.added) <= set(i for i, d in third.printed()) | set(b.before)
                   | b.acked, 90)
        time.sleep(3)  # one more poll: nothing else may arrive
        b.after = [i for i, dummy in third.printed() if i in b.added]
        third.stop()
        slow_again = read(third.output).count("Take a while")
        failures, counts = [], []
        for scenario in (a, b):
            found, duplicates, misses = scenario.check()
            failures += found
            counts.append((scenario.name.split()[0], len(scenario.added), duplicates, misses))
        print("slow playbook run again after the restart: %s (its event was acknowledged before"
              " it ran)" % ("yes" if slow_again else "no"))
        return failures, counts
    finally:
        for rulebook in rulebooks:
            if rulebook.process.poll() is None:
                os.killpg(rulebook.process.pid, signal.SIGKILL)
        emulator.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--work", required=True, help="a scratch folder (emptied)")
    parser.add_argument("--burst", type=int, default=60, help="entries of scenario a")
    args = parser.parse_args()
    java_home()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    started = time.time()
    failures, counts = run(os.path.abspath(args.work), args.burst)
    summary = "; ".join("%s: %d added, %d duplicates, %d misses" % c for c in counts)
    print("eda-feedback wall time: %ds" % (time.time() - started))
    print("eda-feedback: %s; %s" % (summary, "FAILED: %s" % ", ".join(failures) if failures
                                    else "OK"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
