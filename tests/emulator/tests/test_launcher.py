# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""launcher.py: the Python API every starter uses and the shell CLI of emulator.sh."""

import os
import shlex
import ssl
import subprocess
import sys
import time

import pytest

from emulator_testlib import EMULATOR_DIR, NOW, Client
from launcher import EmulatorError, EmulatorProcess, stop_pids

LAUNCHER = os.path.join(EMULATOR_DIR, "launcher.py")


def _exports(text):
    """{NAME: value} of the ``export NAME=value`` lines, as a shell's eval reads them."""
    out = {}
    for line in text.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        name, value = words[1].split("=", 1)
        out[name] = value
    return out


def _gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except IOError:
            return True
        time.sleep(0.05)
    return False


def test_cli_start_prints_exports_and_the_emulator_outlives_it_until_stop():
    started = subprocess.run(
        [sys.executable, LAUNCHER, "start", "--export-connection", "--", "--entries", "20",
         "--now", NOW, "--api-key", "k-cli", "--tls"],
        stdout=subprocess.PIPE, universal_newlines=True, timeout=60, check=True)
    env = _exports(started.stdout)
    pid = int(env["EMULATOR_PID"])
    try:
        assert env["EMULATOR_API_KEY"] == env["NIRVANA_LABS_API_KEY"] == "k-cli"
        assert env["EMULATOR_URL"] == env["NIRVANA_LABS_BASE_URL"]
        assert env["EMULATOR_URL"].startswith("https://127.0.0.1:")
        assert os.path.exists(env["EMULATOR_CA_PATH"])
        assert env["NIRVANA_LABS_CA_PATH"] == env["EMULATOR_CA_PATH"]
        assert '"entries": 20' in env["EMULATOR_INFO"]
        c = Client(env["EMULATOR_URL"], api_key="k-cli",
                   ssl_context=ssl.create_default_context(cafile=env["EMULATOR_CA_PATH"]))
        assert c.get("/v1/audit_logs").status == 200
        c.close()
    finally:
        subprocess.run([sys.executable, LAUNCHER, "stop", str(pid)], timeout=60, check=True)
    assert _gone(pid)


def test_cli_start_without_tls_exports_an_empty_ca_path_and_no_connection():
    started = subprocess.run([sys.executable, LAUNCHER, "start", "--", "--entries", "5"],
                             stdout=subprocess.PIPE, universal_newlines=True, timeout=60,
                             check=True)
    env = _exports(started.stdout)
    stop_pids([int(env["EMULATOR_PID"])])
    assert env["EMULATOR_CA_PATH"] == ""
    assert not any(name.startswith("NIRVANA_LABS_") for name in env)
    assert _gone(int(env["EMULATOR_PID"]))


def test_cli_start_failure_exits_1_with_serve_py_message():
    failed = subprocess.run([sys.executable, LAUNCHER, "start", "--", "--entries", "-1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60, check=False)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "--entries and --seed must be >= 0" in failed.stderr


def test_python_api_always_uses_port_0_and_stops():
    with EmulatorProcess(["--entries", "5", "--now", NOW]) as emu:
        assert emu.process.args[2:4] == ["--port", "0"]
        assert emu.pid == emu.process.pid and emu.url.startswith("http://127.0.0.1:")
        assert emu.ca_path is None and emu.info["entries"] == 5
    assert emu.process.returncode == 0


def test_python_api_start_failure_raises_with_stderr():
    with pytest.raises(EmulatorError, match="(?s)exited with 2.*invalid choice: 'meteor'"):
        EmulatorProcess(["--api", "meteor"]).start()
