# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/verify_evidence_chain.py is one file an auditor copies anywhere: it is what
scripts/render_verifier.py makes of the collection's code today, and it runs alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    make_chain,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "tools", "verify_evidence_chain.py")


def load_renderer():
    spec = importlib.util.spec_from_file_location(
        "render_verifier_under_test", os.path.join(ROOT, "scripts", "render_verifier.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDERER = load_renderer()


def test_the_script_is_current():
    with open(SCRIPT, encoding="utf-8") as handle:
        current = handle.read()
    assert RENDERER.render(current) == current, (
        "tools/verify_evidence_chain.py is not current: run python3 scripts/render_verifier.py")


def test_every_module_chain_py_imports_is_inlined_whole():
    found = RENDERER.sources()
    # bundle_inputs is found through chain.py's own import, not listed anywhere.
    assert set(found) >= {"evidence.chain", "evidence.bundle_inputs", "timeutil"}
    with open(os.path.join(ROOT, "plugins", "module_utils", "evidence", "chain.py"),
              encoding="utf-8") as handle:
        assert found["evidence.chain"] == handle.read()


def test_a_module_outside_the_standard_library_is_refused(tmp_path, monkeypatch):
    package = tmp_path / "plugins" / "module_utils"
    package.mkdir(parents=True)
    (package / "root.py").write_text("import requests\n")
    monkeypatch.setattr(RENDERER, "MODULE_UTILS", str(package))
    monkeypatch.setattr(RENDERER, "ROOTS", ("root",))
    with pytest.raises(SystemExit) as err:
        RENDERER.sources()
    assert "requests" in str(err.value) and "standard library" in str(err.value)


class TestCopiedAlone:

    @pytest.fixture
    def script(self, tmp_path):
        alone = tmp_path / "auditor"
        alone.mkdir()
        shutil.copy(SCRIPT, str(alone / "verify_evidence_chain.py"))
        return alone / "verify_evidence_chain.py"

    def run(self, script, *args):
        # -I -S: no site-packages, no PYTHONPATH, no collection; run from the empty folder.
        return subprocess.run([sys.executable, "-I", "-S", str(script)] + list(args),
                              capture_output=True, text=True, cwd=str(script.parent),
                              timeout=120, check=False)

    def test_an_intact_chain_exits_0(self, script, tmp_path):
        make_chain(tmp_path / "evidence")
        done = self.run(script, str(tmp_path / "evidence"), "--since", "2026-09-01")
        assert done.returncode == 0, done.stderr
        assert "CHAIN OK" in done.stdout and "Traceback" not in done.stderr

    def test_a_broken_chain_exits_1(self, script, tmp_path):
        paths = make_chain(tmp_path / "evidence")
        with open(os.path.join(paths[1], "audit_log.jsonl"), "ab") as handle:
            handle.write(b"{}\n")
        done = self.run(script, str(tmp_path / "evidence"), "--json")
        assert done.returncode == 1 and '"ok": false' in done.stdout
        assert "Traceback" not in done.stderr

    @pytest.mark.parametrize("args", [(), ("--since", "whenever", "."), ("/nonexistent",)])
    def test_bad_arguments_exit_2_without_a_traceback(self, script, args):
        done = self.run(script, *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
