# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_log_verify's anchor, since and until, and the agreement of the module with the offline
script (run as an auditor runs it: isolated, standard library only) over the same cases."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_verify
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    SCRIPT,
    flip_a_byte,
    make_chain,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)


@pytest.fixture
def run(capsys):
    def runner(args):
        with module_args(args):
            with pytest.raises(SystemExit):
                audit_log_verify.main()
        return json.loads(capsys.readouterr().out)
    return runner


def newest_sha(paths):
    return chain.file_sha256(os.path.join(paths[-1], "manifest.json"))


class TestBounds:

    def test_anchor_since_until_verified_and_returned(self, run, tmp_path):
        paths = make_chain(tmp_path)
        result = run({"bundles": [str(tmp_path)], "anchor": newest_sha(paths),
                      "since": "2026-09-01", "until": "2026-12-01T00:00:00+00:00"})
        assert result.get("failed") is not True and result["ok"] is True
        assert result["anchor"] == {"sha256": newest_sha(paths), "bundle": paths[-1], "ok": True}
        assert result["requested"] == {"since": "2026-09-01T00:00:00Z",
                                       "until": "2026-12-01T00:00:00Z"}
        assert result["covering"] == {"from": "2026-09-01T00:00:00Z",
                                      "to": "2026-12-01T00:00:00Z"}
        assert result["missing_head"] is None and result["missing_tail"] is None
        assert (result["valid"], result["total"]) == (3, 3)

    def test_a_missing_head_fails_the_module_saying_so(self, run, tmp_path):
        paths = make_chain(tmp_path)
        result = run({"bundles": paths[:2], "until": "2026-12-01"})
        assert result["failed"] is True
        assert result["msg"] == (
            "the evidence chain does not verify: bundle %s, file -: missing head: no bundle"
            " covers 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z (the newest bundle ends at"
            " 2026-11-01T00:00:00Z)" % paths[1])

    def test_a_relative_since_is_resolved_like_the_other_modules(self, run, tmp_path):
        make_chain(tmp_path)
        result = run({"bundles": [str(tmp_path)], "since": "100000d", "fail_on_broken": False})
        assert result["ok"] is False and result["missing_tail"]["to"] == "2026-09-01T00:00:00Z"

    @pytest.mark.parametrize("args, message", [
        ({"anchor": "0" * 63},
         "anchor: '%s' is not a SHA-256 (64 hexadecimal digits)" % ("0" * 63)),
        ({"since": "last tuesday"}, "since: 'last tuesday' is not a time"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, "until (2026-11-01T00:00:00Z) is not"
                                                         " after since (2026-12-01T00:00:00Z)"),
    ])
    def test_bad_values_fail_with_a_clear_message(self, run, tmp_path, args, message):
        make_chain(tmp_path)
        result = run(dict(args, bundles=[str(tmp_path)]))
        assert result["failed"] is True and result["msg"].startswith(message)


def tamper_extra(paths):
    with open(os.path.join(paths[1], "notes.txt"), "w") as handle:
        handle.write("planted")


def tamper_link(paths):
    os.unlink(os.path.join(paths[0], "audit_log.csv"))
    os.symlink(os.path.join(paths[1], "audit_log.csv"), os.path.join(paths[0], "audit_log.csv"))


def tamper_fifo(paths):
    os.unlink(os.path.join(paths[2], "manifest.json"))
    os.mkfifo(os.path.join(paths[2], "manifest.json"))


def drop_newest(paths):
    shutil.rmtree(paths[2])


CASES = {
    "intact": None,
    "flipped": lambda paths: flip_a_byte(os.path.join(paths[1], "audit_log.jsonl")),
    "extra_file": tamper_extra,
    "symlink": tamper_link,
    "fifo_manifest": tamper_fifo,
    "dropped_newest": drop_newest,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_script_and_the_module_agree(run, tmp_path, case):
    paths = make_chain(tmp_path)
    bounds = {"anchor": newest_sha(paths), "since": "2026-09-01T00:00:00Z",
              "until": "2026-12-01T00:00:00Z"}
    if CASES[case]:
        CASES[case](paths)
    argv = [str(tmp_path), "--json"]
    for name, value in sorted(bounds.items()):
        argv += ["--" + name, value]
    done = subprocess.run([sys.executable, "-I", "-S", SCRIPT] + argv, capture_output=True,
                          text=True, check=False, timeout=60)
    scripted = json.loads(done.stdout)
    moduled = run(dict(bounds, bundles=[str(tmp_path)], fail_on_broken=False))
    assert done.returncode == (0 if case == "intact" else 1)
    assert scripted["ok"] is (case == "intact")
    for key in scripted:
        assert moduled[key] == scripted[key], key
