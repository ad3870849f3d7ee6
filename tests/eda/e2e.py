# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end test of the event source with the real ansible-rulebook (scripts/test.sh eda).

    python tests/eda/e2e.py --work DIR        # with the eda venv's python (scripts/venv.sh)

The collection is built with ``ansible-galaxy collection build`` and installed into a
temporary collections path; ansible-rulebook finds the source by its FQCN there and runs it
without PYTHONPATH. Against an emulator to which entries are added while it runs:

1. clean: entries one at a time, a few seconds apart (the latency is measured here, at the
   default interval);
2. faults: 503s that outlast the client's retries (a logged outage), then random 503s, resets
   and 429s, with entries sharing a second and one listed late (within settle);
3. stop (SIGTERM), entries added while stopped, restart with the same state file and a
   rulebook whose action runs a real playbook (run_playbook), entries added while it runs.

Every matching entry added after the start must reach the rulebook exactly once; nothing
older and nothing filtered out may; the key must appear in no output. Prints the figures and
one line ``eda-e2e: ...`` that scripts/test.sh reads; exits 1 when a check fails.
"""

import argparse
import datetime
import glob
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EVENT_LINE = re.compile(r"^E2E-EVENT ([0-9a-f-]{36}) (\S+)$", re.M)
MATCHING = {"action": "vm.deleted", "actor": {"id": "e2e-key", "name": None, "type": "api_key"}}
FILTERED_OUT = {"action": "vm.deleted", "actor": {"id": "e2e-user", "name": "Ana", "type": "user"}}


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def java_home():
    """JAVA_HOME for ansible-rulebook (drools needs a Java 17+ runtime), or exit clearly."""
    java = shutil.which("java")
    version = ""
    if java:
        out = subprocess.run([java, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, check=False).stdout
        match = re.search(r'version "(\d+)', out)
        version = match.group(1) if match else ""
    if not version or int(version) < 17:
        sys.exit("eda-e2e: FAILED: ansible-rulebook needs a Java 17+ runtime and `java -version`"
                 " reports %s; install one (for example openjdk-17-jre-headless) and put it on"
                 " PATH" % ("no java on PATH" if not java else "version %r" % version))
    return os.environ.get("JAVA_HOME") or os.path.dirname(os.path.dirname(os.path.realpath(java)))


def install_collection(work):
    """Build the collection's tarball and install it into a fresh collections path."""
    dist, collections = os.path.join(work, "dist"), os.path.join(work, "collections")
    for path in (dist, collections):
        shutil.rmtree(path, ignore_errors=True)
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", dist, ROOT], check=True,
                   stdout=subprocess.DEVNULL)
    tarball = glob.glob(os.path.join(dist, "*.tar.gz"))[0]
    members = subprocess.run(["tar", "-tzf", tarball], stdout=subprocess.PIPE, check=True,
                             universal_newlines=True).stdout.split()
    if "extensions/eda/plugins/event_source/audit_log.py" not in members:
        sys.exit("eda-e2e: FAILED: the built tarball has no extensions/eda/plugins/event_source/"
                 "audit_log.py")
    subprocess.run([galaxy, "collection", "install", "--offline", "-p", collections, tarball],
                   check=True, stdout=subprocess.DEVNULL)
    log("installed %s into %s" % (os.path.basename(tarball), collections))
    return collections


class Emulator(object):
    def __init__(self, work):
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=2)
        self.stderr = open(os.path.join(work, "emulator.log"), "w")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "emulator", "serve.py"), "--port", "0",
             "--entries", "2000", "--seed", "15", "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")],
            stdout=subprocess.PIPE, stderr=self.stderr, universal_newlines=True)
        self.info = json.loads(self.process.stdout.readline())
        self.url, self.api_key = self.info["url"], self.info["api_key"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.added = []   # (id, when it was added: the middle of the POST), matching entries

    def admin(self, method, name, body=None):
        response = self.session.request(method, "%s/_emulator/%s" % (self.url, name), json=body,
                                        timeout=10)
        response.raise_for_status()
        return response.json()

    def add(self, *specs):
        """Add entries; the matching ones are remembered with the time they were made."""
        before = time.time()
        made = self.admin("POST", "entries", list(specs))["items"]
        when = (before + time.time()) / 2
        for entry in made:
            if entry["actor"]["type"] == "api_key":
                self.added.append((entry["id"], when))
        return made

    def wait_for_requests(self, count, timeout):
        deadline = time.time() + timeout
        while self.admin("GET", "stats")["requests"] < count:
            if time.time() > deadline:
                sys.exit("eda-e2e: FAILED: the source sent no %d requests in %ds" % (count, timeout))
            time.sleep(0.2)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        self.stderr.close()


class Rulebook(object):
    """One ansible-rulebook run, as a user starts it: FQCN source, no PYTHONPATH."""

    def __init__(self, work, name, rulebook, env, variables, verbosity="-v"):
        self.output = os.path.join(work, "%s.log" % name)
        vars_file = os.path.join(work, "%s-vars.json" % name)
        with open(vars_file, "w") as handle:
            json.dump(variables, handle)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-rulebook")
        with open(self.output, "w") as out:
            self.process = subprocess.Popen(
                [binary, "--rulebook", os.path.join(HERE, "rulebooks", rulebook), "-i",
                 os.path.join(work, "inventory.yml"), "--vars", vars_file, verbosity],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)

    def text(self):
        return read(self.output)

    def wait_for(self, pattern, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            match = re.search(pattern, self.text(), re.M)
            if match:
                return match
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        sys.exit("eda-e2e: FAILED: ansible-rulebook did not log %r within %ds (exit status %s);"
                 " its output: %s" % (pattern, timeout, self.process.poll(), self.output))

    def stop(self):
        """SIGTERM, as a service manager stops it."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "killed after 60s"


def rulebook_env(collections, emulator):
    env = dict((k, v) for k, v in os.environ.items()
               if k != "PYTHONPATH" and not k.startswith("NIRVANA_LABS_"))
    env.update({
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "JAVA_HOME": java_home(),
        "ANSIBLE_NOCOLOR": "1",
        "NIRVANA_LABS_API_KEY": emulator.api_key,
        "NIRVANA_LABS_BASE_URL": emulator.url,
    })
    return env


def read(path):
    """The text of a file, or "" when there is none (yet)."""
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return handle.read()


def seen(text):
    """[(id, received_at)] from E2E-EVENT lines."""
    return [(i, datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())
            for i, t in EVENT_LINE.findall(text)]


def wait_seen(read, ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if set(ids) <= set(i for i, dummy in read()):
            return True
        time.sleep(0.3)
    return False


def phase_clean(emulator, events, count):
    log("phase clean: %d entries, one every 1-4 s" % count)
    first = len(emulator.added)
    for n in range(count):
        emulator.add(MATCHING)
        if n % 3 == 1:
            emulator.add(FILTERED_OUT)
        time.sleep(random.uniform(1, 4))
    ids = [i for i, dummy in emulator.added[first:]]
    return ids, wait_seen(events, ids, 60)


def phase_faults(emulator, events, rulebook):
    log("phase faults: an outage longer than the client's retries, then random faults")
    # Tried in this order, the first that fires decides: the periodic faults first, so they
    # fire during the outage too; the outage takes every request they leave, six times.
    emulator.admin("PUT", "faults", [
        {"kind": "status", "status": 502, "every": 2, "body": "html"},
        {"kind": "reset", "every": 3},
        {"kind": "rate_limit", "every": 5, "retry_after": 1},
        {"kind": "status", "status": 503, "times": 6, "name": "outage"},
    ])
    first = len(emulator.added)
    emulator.add(MATCHING)
    rulebook.wait_for(r"poll failed \(1 in a row", 60)
    emulator.add(MATCHING, MATCHING, FILTERED_OUT)  # one second, one request: ids decide the order
    time.sleep(2)
    late = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=8))
    emulator.add(dict(MATCHING, created_at=late.strftime("%Y-%m-%dT%H:%M:%SZ")))  # listed late
    for dummy in range(2):
        time.sleep(random.uniform(1, 3))
        emulator.add(MATCHING)
    ids = [i for i, dummy in emulator.added[first:]]
    ok = wait_seen(events, ids, 90)
    rulebook.wait_for(r"polling resumed after", 30)
    fired = dict((f["rule"].get("name", f["rule"]["kind"]), f["fired"])
                 for f in emulator.admin("GET", "faults")["faults"])
    emulator.admin("DELETE", "faults")
    log("faults fired: %s" % fired)
    return ids, ok and fired.get("outage") == 6 and min(fired.values()) > 0


def run(work, entries):
    collections = install_collection(work)
    emulator = Emulator(work)
    rulebooks = []
    try:
        with open(os.path.join(work, "inventory.yml"), "w") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
                         "      ansible_python_interpreter: %s\n" % sys.executable)
        state = os.path.join(work, "audit_log.state")
        record = os.path.join(work, "recorded.txt")
        env = rulebook_env(collections, emulator)
        emulator.add(MATCHING, MATCHING)  # older than the start: must never arrive
        older = [i for i, dummy in emulator.added]
        del emulator.added[:]
        time.sleep(1.5)

        # -vv: debug logs too (urllib3's included), which the key must not reach either
        first = Rulebook(work, "rulebook-1", "debug.yml", env, {"state_file": state},
                         verbosity="-vv")
        rulebooks.append(first)
        first.wait_for(r"audit_log: starting from", 120)
        emulator.wait_for_requests(2, 60)  # steady state: the first poll is behind us

        def printed():
            return seen(first.text())
        clean_ids, clean_ok = phase_clean(emulator, printed, entries)
        fault_ids, fault_ok = phase_faults(emulator, printed, first)
        log("stopping ansible-rulebook (SIGTERM): exit status %s" % first.stop())

        stopped_from = len(emulator.added)
        for dummy in range(3):
            emulator.add(MATCHING, FILTERED_OUT)
            time.sleep(1)
        second = Rulebook(work, "rulebook-2", "recording.yml", env, {
            "state_file": state, "record_file": record,
            "record_playbook": os.path.join(HERE, "record.yml")})
        rulebooks.append(second)
        second.wait_for(r"audit_log: resuming from", 120)
        for dummy in range(3):
            emulator.add(MATCHING)
            time.sleep(random.uniform(1, 3))

        def recorded():
            return seen(read(record))
        restart_ids = [i for i, dummy in emulator.added[stopped_from:]]
        restart_ok = wait_seen(recorded, restart_ids, 150)
        time.sleep(6)  # one more poll after the last playbook: nothing else may arrive
        log("stopping ansible-rulebook (SIGTERM): exit status %s" % second.stop())
        outputs = [rb.text() for rb in rulebooks] + [
            read(path) for path in (emulator.stderr.name, state, record)]
        return assess(emulator, older, printed() + recorded(), clean_ids, outputs,
                      dict(clean=clean_ok, faults=fault_ok, restart=restart_ok),
                      oct(os.stat(state).st_mode & 0o777))
    finally:
        for rulebook in rulebooks:
            if rulebook.process.poll() is None:
                rulebook.process.kill()
        emulator.stop()


def percentile(values, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, int(-(-fraction * len(ordered) // 1)) - 1)]


def assess(emulator, older, delivered, clean_ids, outputs, phases, state_mode):
    added = dict(emulator.added)
    counts = {}
    for entry_id, dummy in delivered:
        counts[entry_id] = counts.get(entry_id, 0) + 1
    duplicates = sum(c - 1 for c in counts.values())
    misses = sorted(set(added) - set(counts))
    unexpected = sorted(set(counts) - set(added))
    received = dict(delivered)
    latencies = [received[i] - added[i] for i in clean_ids if i in received]
    every = [received[i] - added[i] for i in added if i in received]
    leaked = any(emulator.api_key in text for text in outputs)
    print("entries added (matching, after the start): %d; events delivered: %d; duplicates: %d;"
          " misses: %d; unexpected (older %d, filtered out or unknown): %d"
          % (len(added), len(delivered), duplicates, len(misses),
             len(set(older) & set(counts)), len(unexpected)))
    if latencies:
        print("latency entry -> event, default interval, clean phase (%d entries): median %.2f s,"
              " p95 %.2f s, max %.2f s" % (
                  len(latencies), statistics.median(latencies), percentile(latencies, 0.95),
                  max(latencies)))
        print("latency over all %d entries (faults and restart included): median %.2f s, p95 %.2f s"
              % (len(every), statistics.median(every), percentile(every, 0.95)))
    failures = [name for name, ok in sorted(phases.items()) if not ok]
    failures += ["duplicates"] * bool(duplicates) + ["misses %s" % misses] * bool(misses)
    failures += ["unexpected %s" % unexpected] * bool(unexpected) + ["key leaked"] * leaked
    failures += ["state file mode %s" % state_mode] * (state_mode != "0o600")
    summary = "eda-e2e: %d added, %d delivered, %d duplicates, %d misses, %d unexpected" % (
        len(added), len(delivered), duplicates, len(misses), len(unexpected))
    if latencies:
        summary += "; latency median %.2fs p95 %.2fs" % (
            statistics.median(latencies), percentile(latencies, 0.95))
    print(summary + ("; FAILED: %s" % ", ".join(failures) if failures else "; OK"))
    return not failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--work", required=True, help="a scratch folder (emptied)")
    parser.add_argument("--entries", type=int, default=12, help="entries of the clean phase")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    random.seed(args.seed)
    java_home()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    started = time.time()
    ok = run(os.path.abspath(args.work), args.entries)
    print("eda-e2e wall time: %ds; load average %s" % (
        time.time() - started, " ".join(read("/proc/loadavg").split()[:3]) or "unknown"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
