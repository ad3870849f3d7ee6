# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two runners ssh-keygen and openssl are run with, the modules' (AnsibleModule.run_command)
and the offline script's (subprocess), held to the same contract by attestation.run_tool: bytes
in and out, the environment added to, a hung tool killed, a missing one named."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import attestation
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.signing_support import (  # noqa: E501
    tool_runner,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))
SCRIPT = os.path.join(ROOT, "tools", "verify_evidence_chain.py")


def script_runner():
    spec = importlib.util.spec_from_file_location("nirvana_verify_script_for_runner", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.run_process


RUNNERS = {"module": tool_runner, "script": script_runner}


@pytest.fixture(params=sorted(RUNNERS))
def runner(request):
    return RUNNERS[request.param]()


def test_data_goes_in_on_stdin_and_bytes_come_back(runner):
    data = bytes(range(256)) * 512  # binary, larger than a pipe's buffer
    code, out, err = runner(["cat"], data, None)
    assert (code, out, err) == (0, data, b"")


def test_the_environment_is_added_to_not_replaced(runner, monkeypatch):
    monkeypatch.setenv("NIRVANA_RUNNER_KEPT", "kept")
    code, out, _err = runner(["env"], None, {"NIRVANA_RUNNER_ADDED": "added"})
    lines = out.decode().splitlines()
    assert code == 0
    assert "NIRVANA_RUNNER_KEPT=kept" in lines and "NIRVANA_RUNNER_ADDED=added" in lines


def test_the_exit_status_and_stderr_are_the_tools(runner):
    code, out, err = runner(["sh", "-c", "echo out; echo err >&2; exit 3"], None, None)
    assert (code, out, err) == (3, b"out\n", b"err\n")


def test_run_tool_decodes_and_names_a_tool_that_is_not_installed(runner):
    assert attestation.run_tool(runner, ["echo", "caf\u00e9"]) == (0, "caf\u00e9\n", "")
    with pytest.raises(attestation.ToolError, match="ssh-keygen-absent is not installed"):
        attestation.run_tool(runner, ["ssh-keygen-absent", "-V"])


def test_without_a_runner_the_message_says_so():
    with pytest.raises(attestation.ToolError, match="gave no process runner"):
        attestation.run_tool(None, ["openssl", "version"])


def test_the_module_runner_kills_a_tool_that_hangs():
    started = time.monotonic()
    code, _out, _err = tool_runner(timeout=0.5)(["sleep", "30"], None, None)
    assert code is None and time.monotonic() - started < 20


def test_run_tool_turns_a_kill_into_a_sentence():
    def killed(argv, data, env):
        return None, b"", b""
    with pytest.raises(attestation.ToolError, match="did not answer within"):
        attestation.run_tool(killed, ["openssl", "version"])
