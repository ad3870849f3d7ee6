# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""launcher.py: the Python API every starter uses and the shell CLI of emulator.sh."""

import os
import shlex
import ssl
import subprocess
import sys

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


def _shell_start(tmp_path, *serve_args, **ready_flags):
    """What emulator.sh does: ``exec`` in the background, then ``ready``; (process, ready)."""
    out, err = tmp_path / "out", tmp_path / "err"
    with open(str(out), "wb") as stdout, open(str(err), "wb") as stderr:
        process = subprocess.Popen([sys.executable, LAUNCHER, "exec", "--"] + list(serve_args),
                                   stdout=stdout, stderr=stderr)
    flags = ["--export-connection"] if ready_flags.get("export_connection") else []
    ready = subprocess.run([sys.executable, LAUNCHER, "ready", "--pid", str(process.pid),
                            "--stdout", str(out), "--stderr", str(err)] + flags,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120, check=False)
    return process, ready


def test_cli_exec_ready_and_stop_as_emulator_sh_uses_them(tmp_path):
    process, ready = _shell_start(tmp_path, "--entries", "20", "--now", NOW, "--api-key",
                                  "k-cli", "--tls", export_connection=True)
    try:
        assert ready.returncode == 0, ready.stderr
        env = _exports(ready.stdout)
        # exec became serve.py: the shell's own child is the emulator, so its wait reaps it.
        assert int(env["EMULATOR_PID"]) == process.pid
        assert env["EMULATOR_API_KEY"] == env["NIRVANA_LABS_API_KEY"] == "k-cli"
        assert env["EMULATOR_URL"] == env["NIRVANA_LABS_BASE_URL"]
        assert env["EMULATOR_URL"].startswith("https://127.0.0.1:")
        assert env["NIRVANA_LABS_CA_PATH"] == env["EMULATOR_CA_PATH"]
        assert '"entries": 20' in env["EMULATOR_INFO"]
        c = Client(env["EMULATOR_URL"], api_key="k-cli",
                   ssl_context=ssl.create_default_context(cafile=env["EMULATOR_CA_PATH"]))
        assert c.get("/v1/audit_logs").status == 200
        c.close()
    finally:
        subprocess.run([sys.executable, LAUNCHER, "stop", str(process.pid)], timeout=60,
                       check=True)
    assert process.wait(5) == 0


def test_cli_without_tls_exports_an_empty_ca_path_and_no_connection(tmp_path):
    process, ready = _shell_start(tmp_path, "--entries", "5")
    stop_pids([process.pid])
    assert process.wait(5) == 0
    env = _exports(ready.stdout)
    assert env["EMULATOR_CA_PATH"] == ""
    assert not any(name.startswith("NIRVANA_LABS_") for name in env)


def test_cli_ready_fails_with_serve_py_message_when_it_exits(tmp_path):
    process, ready = _shell_start(tmp_path, "--entries", "-1")
    assert process.wait(5) == 2
    assert ready.returncode == 1 and ready.stdout == ""
    assert "--entries and --seed must be >= 0" in ready.stderr


def test_python_api_always_uses_port_0_and_stops():
    with EmulatorProcess(["--entries", "5", "--now", NOW]) as emu:
        assert emu.process.args[2:4] == ["--port", "0"]
        assert emu.pid == emu.process.pid and emu.url.startswith("http://127.0.0.1:")
        assert emu.ca_path is None and emu.info["entries"] == 5
    assert emu.process.returncode == 0


def test_python_api_start_failure_raises_with_stderr():
    with pytest.raises(EmulatorError, match="(?s)exited before it listened.*invalid choice: 'meteor'"):
        EmulatorProcess(["--api", "meteor"]).start()
