# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start ``serve.py`` as a process, wait for its JSON ready line, stop it: the one launcher
used by the unit tests, the integration targets (through emulator.sh), the benchmarks and the
emulator's own tests and bench.

From Python (this file imports nothing of the emulator or the collection)::

    with EmulatorProcess(["--entries", "500", "--tls"]) as emu:
        emu.url, emu.api_key, emu.ca_path, emu.pid, emu.info

From a shell (what tests/integration/emulator.sh does): the shell starts the emulator itself,
so it stays the shell's child and ``wait`` reaps it (an orphan would linger as a zombie until
init reaps it)::

    python tests/emulator/launcher.py exec -- --entries 500 --tls >"$out" 2>"$err" &
    eval "$(python tests/emulator/launcher.py ready --pid $! --stdout "$out" --stderr "$err")"
    ... "$EMULATOR_URL" "$EMULATOR_API_KEY" "$EMULATOR_CA_PATH" "$EMULATOR_PID" ...
    python tests/emulator/launcher.py stop "$EMULATOR_PID"; wait "$EMULATOR_PID"

``--port 0`` always comes first, so the emulator listens on a free loopback port.
"""

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(HERE, "serve.py")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0


def _die_with_parent():
    """Linux: the emulator gets SIGTERM when the process that started it dies, so no test
    run, however it ends, leaves emulators behind."""
    try:
        import ctypes  # pylint: disable=import-outside-toplevel
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EmulatorError(RuntimeError):
    """The emulator exited or stayed silent before printing its ready line."""


def serve_command(args, script=SERVE, python=None):
    """The command line of one emulator: ``--port 0`` first, then ``args``."""
    return [python or sys.executable, script, "--port", "0"] + [str(a) for a in args]


def wait_for_ready_line(read, running, timeout):
    """The first line ``read()`` (all stdout so far, bytes) holds, decoded; polls while
    ``running()`` and for at most ``timeout`` seconds, then raises EmulatorError."""
    deadline = time.monotonic() + timeout
    while True:
        alive = running()  # before reading: a line printed just before exiting still counts
        data = read()
        if b"\n" in data:
            return data.split(b"\n", 1)[0].decode("utf-8")
        if not alive:
            raise EmulatorError("the emulator exited before it listened")
        if time.monotonic() > deadline:
            raise EmulatorError("the emulator printed nothing in %.0f s" % timeout)
        time.sleep(0.02)


class EmulatorProcess(object):
    """One ``serve.py`` process.

    ``args``: serve.py options. ``script``: another script taking serve.py's options (the
    benchmark's TCP_NODELAY wrapper). ``stderr``: a path for the emulator's stderr (default: a
    temporary file, quoted when it fails to start). ``die_with_parent``: stop it when the
    starting process dies (Linux).
    """

    def __init__(self, args=(), script=SERVE, python=None, stderr=None, die_with_parent=False,
                 timeout=START_TIMEOUT):
        self.args = serve_command(args, script, python)
        self.stderr_path = stderr
        self.die_with_parent = die_with_parent
        self.timeout = timeout
        self.process = None
        self.info = None
        self._stdout = None
        self._stderr = None

    def start(self):
        # stdout goes to an unlinked file, not a pipe: nothing has to keep reading it.
        self._stdout = tempfile.TemporaryFile(mode="w+b")
        if self.stderr_path:
            self._stderr = open(self.stderr_path, "w+b")
        else:
            self._stderr = tempfile.TemporaryFile(mode="w+b")
        self.process = subprocess.Popen(
            self.args, stdout=self._stdout, stderr=self._stderr, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if self.die_with_parent else None)
        self.info = json.loads(self._ready_line())
        return self

    def _ready_line(self):
        def read():
            self._stdout.seek(0)
            return self._stdout.read()

        try:
            return wait_for_ready_line(read, lambda: self.process.poll() is None, self.timeout)
        except EmulatorError as err:
            self.stop()
            raise EmulatorError("%s: %s" % (err, self.stderr_text()))

    def stdout_text(self):
        """Everything it printed on stdout so far (the ready line first)."""
        self._stdout.seek(0)
        return self._stdout.read().decode("utf-8", "replace")

    def stderr_text(self):
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal it, wait ``timeout`` seconds, then kill it; returns its exit code."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return None if self.process is None else self.process.returncode

    def close(self):
        """Stop it and close its output files."""
        self.stop()
        for handle in (self._stdout, self._stderr):
            if handle is not None:
                handle.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def url(self):
        return self.info["url"]

    @property
    def api_key(self):
        return self.info["api_key"]

    @property
    def ca_path(self):
        return self.info.get("ca_path")

    @property
    def pid(self):
        return self.info.get("pid", self.process.pid)

    @property
    def admin_url(self):
        return self.info["admin_url"]


# -- the shell CLI ----------------------------------------------------------------------------

EXPORTS = (("EMULATOR_URL", "url"), ("EMULATOR_API_KEY", "api_key"),
           ("EMULATOR_CA_PATH", "ca_path"), ("EMULATOR_PID", "pid"))
CONNECTION = (("NIRVANA_LABS_BASE_URL", "url"), ("NIRVANA_LABS_API_KEY", "api_key"),
              ("NIRVANA_LABS_CA_PATH", "ca_path"))


def shell_exports(info, export_connection=False):
    """``export NAME=value`` lines for a shell's eval. EMULATOR_INFO is the whole line; with
    ``export_connection`` also the NIRVANA_LABS_* variables every plugin reads."""
    pairs = [(name, info.get(key)) for name, key in EXPORTS]
    pairs.append(("EMULATOR_INFO", json.dumps(info)))
    if export_connection:
        pairs += [(name, info.get(key)) for name, key in CONNECTION if info.get(key) is not None]
    return "".join("export %s=%s\n" % (name, shlex.quote("" if value is None else str(value)))
                   for name, value in pairs)


def _alive(pid):
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, IndexError):
        return True


def stop_pids(pids, timeout=5.0):
    """SIGTERM every pid, wait up to ``timeout`` seconds for them, SIGKILL what is left."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _read_file(path):
    with open(path, "rb") as handle:
        return handle.read()


def _ready(args):
    try:
        line = wait_for_ready_line(lambda: _read_file(args.stdout), lambda: _alive(args.pid),
                                   args.timeout)
    except EmulatorError as err:
        stderr = _read_file(args.stderr).decode("utf-8", "replace").strip() if args.stderr else ""
        sys.stderr.write("launcher.py: %s: %s\n" % (err, stderr))
        return 1
    sys.stdout.write(shell_exports(json.loads(line), args.export_connection))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Start, wait for or stop the audit-log API"
                                     " emulator from a shell.")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("exec", help="become serve.py with --port 0 and these options")
    run.add_argument("serve_args", nargs=argparse.REMAINDER, help="serve.py options, after --")
    ready = commands.add_parser("ready", help="wait for its ready line; print shell exports")
    ready.add_argument("--pid", type=int, required=True, help="the emulator's pid")
    ready.add_argument("--stdout", required=True, help="the file its stdout goes to")
    ready.add_argument("--stderr", help="the file its stderr goes to (quoted on failure)")
    ready.add_argument("--timeout", type=float, default=START_TIMEOUT)
    ready.add_argument("--export-connection", action="store_true",
                       help="also export NIRVANA_LABS_BASE_URL, _API_KEY and _CA_PATH")
    stop = commands.add_parser("stop", help="stop emulators by pid")
    stop.add_argument("pids", type=int, nargs="*")
    args = parser.parse_args(argv)
    if args.command == "exec":
        serve_args = args.serve_args[1:] if args.serve_args[:1] == ["--"] else args.serve_args
        command = serve_command(serve_args)
        os.execv(command[0], command)
    if args.command == "ready":
        return _ready(args)
    if args.command == "stop":
        stop_pids(args.pids)
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
